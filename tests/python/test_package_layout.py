"""The package's two layers: hifit's own API at the top, the cabinetry-compatible
layer in hifit.cabinetry, reachable as ``from hifit import cabinetry`` and as
``import hifit as cabinetry`` with exactly cabinetry's (0.6.0) module names."""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hifit

cabinetry = pytest.importorskip("cabinetry")

PACKAGE = Path(hifit.__file__).resolve().parent


def cabinetry_module_names() -> set[str]:
    """The modules ``import cabinetry`` binds (read from its ``__init__``: other tests
    may have imported more, e.g. ``cabinetry.contrib``)."""
    tree = ast.parse(Path(inspect.getfile(cabinetry)).read_text())
    return {
        alias.asname or alias.name.split(".")[-1]
        for node in tree.body
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("cabinetry.")
    }


def test_cabinetry_modules_reachable_both_ways() -> None:
    from hifit import cabinetry as layer

    names = cabinetry_module_names()
    assert names == set(layer.MODULES)
    for name in names:
        module = importlib.import_module(f"hifit.cabinetry.{name}")
        assert getattr(layer, name) is module
        assert getattr(hifit, name) is module  # import hifit as cabinetry


def test_import_hifit_loads_no_plotting_or_root_io() -> None:
    code = (
        "import sys, hifit; "
        "print(sorted(m for m in ('matplotlib', 'uproot') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    assert proc.stdout.strip() == "[]"


def test_no_modules_that_differ_only_by_an_underscore() -> None:
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        names = {p.stem for p in folder.glob("*.py")} | {
            p.name for p in folder.iterdir() if (p / "__init__.py").is_file()
        }
        pairs = sorted(n for n in names if n.startswith("_") and n[1:] in names)
        assert not pairs, f"{folder}: {pairs}"
