"""Convert between CMS Combine datacards and pyhf JSON workspaces.

The mapping itself is done in C++ (``hifit._core.datacard.to_workspace`` /
``to_datacard``); this module reads and writes the files. Both directions report what
the other format cannot express exactly, one human-readable line each::

    result = hifit.convert.card_to_workspace("card.txt", "ws.json", mass=125)
    for line in result.inexact:
        print(line)

    hifit.convert.workspace_to_card("ws.json", "card.txt")  # + card_shapes.root
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _core
from . import datacard as _datacard
from .io import root_file, write_json_atomic, write_text_atomic
from .pyhf_workspace import Workspace

__all__ = [
    "CardToWorkspace",
    "WorkspaceToCard",
    "card_to_workspace",
    "workspace_to_card",
]

_dc = _core.datacard


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True)
class CardToWorkspace:
    """A datacard as a pyhf workspace, and what could not be kept exactly."""

    workspace: Workspace
    inexact: tuple[str, ...]


@dataclass(frozen=True)
class WorkspaceToCard:
    """A workspace as datacard text plus templates (written to ``shapes_path``)."""

    card_text: str
    shapes_path: Path | None
    inexact: tuple[str, ...]


def _poi_pairs(
    poi_map: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    if poi_map is None:
        return []
    items = poi_map.items() if isinstance(poi_map, Mapping) else poi_map
    return [(str(process), str(poi)) for process, poi in items]


def card_to_workspace(
    card_path: str | os.PathLike[str],
    output_json: str | os.PathLike[str] | None = None,
    *,
    mass: float = 120.0,
    keywords: Mapping[str, str] | None = None,
    poi_map: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> CardToWorkspace:
    """Read a datacard and its templates and build the equivalent pyhf workspace.

    Parameters
    ----------
    card_path
        The datacard (its ``shapes`` lines are resolved against its directory).
    output_json
        Where to write the workspace (atomically); None: do not write.
    mass, keywords
        ``$MASS`` and ``$WORD`` substitutions of the ``shapes`` lines.
    poi_map
        Process glob -> POI name (Combine's physics-model maps); default: one POI
        ``r`` scaling every signal process.
    """
    card, templates = _datacard.read(card_path, mass=mass, keywords=keywords)
    core, inexact = _dc.to_workspace(card, templates, _poi_pairs(poi_map))
    workspace = Workspace._wrap(core)
    if output_json is not None:
        write_json_atomic(output_json, workspace.spec())
    return CardToWorkspace(workspace, tuple(inexact))


def workspace_to_card(
    workspace: str | os.PathLike[str] | Workspace | Mapping[str, Any],
    output_card: str | os.PathLike[str] | None = None,
    *,
    shapes_file: str | os.PathLike[str] | None = None,
    measurement: str | None = None,
) -> WorkspaceToCard:
    """Write a pyhf workspace as a Combine datacard plus a ROOT file of templates.

    Parameters
    ----------
    workspace
        A workspace file, :class:`hifit.Workspace` or spec dict.
    output_card
        Where to write the card; None: only return its text (no shapes file).
    shapes_file
        The ROOT file for the templates; default ``<card stem>_shapes.root`` next to
        the card. The card refers to it relative to its own directory.
    measurement
        The measurement whose POI and parameter settings are used (default: first).
    """
    if isinstance(workspace, Workspace):
        ws = workspace
    elif isinstance(workspace, Mapping):
        ws = Workspace(workspace)
    else:
        ws = Workspace.load(workspace)
    shapes_path = None
    shapes_name = "shapes.root"
    if output_card is not None:
        card_path = Path(output_card)
        shapes_path = (
            Path(shapes_file)
            if shapes_file is not None
            else card_path.with_name(card_path.stem + "_shapes.root")
        )
        shapes_name = os.path.relpath(shapes_path, card_path.parent)
        shapes_name = shapes_name.replace(os.sep, "/")
    card, templates, inexact = _dc.to_datacard(ws._ws, shapes_name, measurement or "")
    comment = [f"Converted by hifit from the pyhf workspace {ws.source}"]
    if inexact:
        comment.append("Not kept exactly:")
        comment.extend(f"  {line}" for line in inexact)
    text = _dc.write(card, "\n".join(comment))
    if output_card is not None and shapes_path is not None:
        _write_shapes(shapes_path, templates)
        write_text_atomic(output_card, text)
    return WorkspaceToCard(text, shapes_path, tuple(inexact))


def _object_name(channel: str, process: str, variation: str) -> str:
    # Matches the card's "$CHANNEL/$PROCESS $CHANNEL/$PROCESS_$SYSTEMATIC".
    return f"{channel}/{process}" + (f"_{variation}" if variation else "")


def _write_shapes(path: Path, templates: Mapping[tuple[str, str, str], Any]) -> None:
    """TH1Ds with sum of squared weights, written through a temporary file."""
    import hist
    import numpy as np

    with root_file(path) as out:
        for (channel, process, variation), h in templates.items():
            contents = np.asarray(h.contents, dtype=np.float64)
            sumw2 = np.asarray(h.sumw2, dtype=np.float64)
            edges = np.asarray(h.edges, dtype=np.float64)
            if edges.size != contents.size + 1:
                edges = np.arange(contents.size + 1, dtype=np.float64)
            th1 = hist.Hist(hist.axis.Variable(edges), storage=hist.storage.Weight())
            view = th1.view()
            view.value = contents
            view.variance = sumw2 if sumw2.size == contents.size else 0.0
            out[_object_name(channel, process, variation)] = th1
