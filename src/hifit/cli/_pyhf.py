"""``hifit pyhf``: pyhf's command line (same command names, options and outputs).

Documents are printed and written exactly as pyhf does (``json.dumps(indent=4,
sort_keys=True)``); files are written atomically through hifit.io. Errors are hifit's:
one line, exit 2 for bad input, exit 1 when a fit the result needs failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .. import _core
from ..io import check_outputs, write_text_atomic
from ..pyhf_workspace import PatchSet, Workspace
from ._common import cli

MODIFIER_TYPES = [
    "histosys",
    "lumi",
    "normfactor",
    "normsys",
    "shapefactor",
    "shapesys",
    "staterror",
]
JOINS = ["none", "outer", "left outer", "right outer"]


@cli.group(name="pyhf", context_settings={"help_option_names": ["-h", "--help"]})
def pyhf_group() -> None:
    """pyhf's commands: prefix a pyhf command line with `hifit` to run it here."""


def output_file_option(func: Any) -> Any:
    return click.option(
        "--output-file",
        "-o",
        default=None,
        help="The location of the output json file. "
        "If not specified, prints to screen.",
    )(func)


def read_text(path: str) -> str:
    """A file's text, or standard input for "-" (pyhf's default argument)."""
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as f:
        return f.read()


def read_workspace(path: str) -> Workspace:
    source = "<stdin>" if path == "-" else path
    if path != "-":
        return Workspace.load(path)
    return Workspace._wrap(_core.Workspace.from_json(read_text(path), source))


def read_patchset(path: str) -> PatchSet:
    if path != "-":
        return PatchSet.load(path)
    obj = PatchSet.__new__(PatchSet)
    obj._ps = _core.PatchSet.from_json(read_text(path), "<stdin>")
    return obj


def apply_patch_files(ws: Workspace, patch_files: tuple[str, ...]) -> Workspace:
    for pfile in patch_files:
        ws = ws.apply_patch(read_text(pfile), source=pfile)
    return ws


def pyhf_dumps(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True)


def emit_document(obj: Any, output_file: str | None) -> None:
    """Print as pyhf does, or write the same text (no final newline, as pyhf)."""
    text = pyhf_dumps(obj)
    if output_file is None:
        click.echo(text)
    else:
        write_text_atomic(output_file, text)


def check_output(output_file: str | None, inputs: tuple[str, ...]) -> None:
    check_outputs([output_file], [i for i in inputs if i != "-"])


# Commands are registered by importing their modules.
from . import _pyhf_infer, _pyhf_patchset, _pyhf_spec, _pyhf_xml  # noqa: E402, F401
