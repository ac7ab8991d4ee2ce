"""What a `hifit run` read: ``run.json`` in its folder (``"schema": "hifit.run"``;
a record of the run, not a result: :mod:`hifit.results` does not load it).

It names the hifit version, the config (its path, SHA-256 and text) and every input
file the templates are built or collected from (path and SHA-256), and the
experiment label of the figures, so that the report can show what produced the
results, and `hifit report` rebuilds the same page.
"""

from __future__ import annotations

import hashlib
import pathlib
from typing import Any

_CHUNK = 1 << 20


def sha256_file(path: str | pathlib.Path) -> str:
    """The SHA-256 digest of a file's bytes, as hex (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _root_file(path: str) -> str:
    """``file.root:folder/hist`` → ``file.root`` (uproot's object-path syntax)."""
    head, sep, _ = path.rpartition(":")
    return head if sep and head else path


def input_files(config: dict[str, Any]) -> list[pathlib.Path]:
    """The files the config's templates come from (ntuples, or the ROOT files of
    its histograms), each once, in the order first used."""
    from ..cabinetry import route, templates

    general = config["General"]
    ntuples = all("Tree" in sample for sample in config["Samples"])
    found: dict[str, None] = {}

    def collect(region: Any, sample: Any, systematic: Any, template: Any) -> None:
        if ntuples:
            paths = templates._ntuple_paths(
                general["InputPath"], region, sample, systematic, template
            )
            found.update(dict.fromkeys(str(p) for p in paths))
        else:
            path = templates._histo_path(
                general["InputPath"],
                general.get("VariationPath") or "",
                region,
                sample,
                systematic,
                template,
            )
            found[_root_file(path)] = None

    route.apply_to_all_templates(config, collect)
    return [pathlib.Path(p) for p in found]


def run_document(
    config_path: str, config: dict[str, Any], label: str | None
) -> dict[str, Any]:
    """The ``hifit.run`` record of a run of ``config_path``."""
    from .. import __version__

    config_file = pathlib.Path(config_path)
    return {
        "schema": "hifit.run",
        "version": 1,
        "hifit_version": __version__,
        "config": {
            "path": str(config_file.resolve()),
            "sha256": sha256_file(config_file),
            "text": config_file.read_text(encoding="utf-8"),
        },
        "inputs": [
            {"path": str(p.resolve()), "sha256": sha256_file(p)}
            for p in input_files(config)
        ],
        "label": label,
    }
