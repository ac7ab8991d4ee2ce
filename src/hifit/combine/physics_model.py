"""text2workspace's multi-signal model, ``--PO 'map=BIN/PROCESS:POI[init,lo,hi]'``
(PROCESS a regular expression), as hifit's per-process POI map: every signal
process scaled by the POI of the last pattern matching ``bin/process``
(``re.match``, as PhysicsModel.py does)."""

from __future__ import annotations

import re

from .. import _core
from .options import CombineOptions, OptionError

_POI = re.compile(r"^(\w+)(?:\[([^\]]*)\])?$")


def poi_map_from_options(
    options: CombineOptions,
) -> tuple[list[tuple[str, str]], dict[str, tuple[float, float]]]:
    """(process -> POI pairs for hifit.datacard.load_model, POI -> declared range)."""
    maps: list[tuple[str, list[str]]] = []
    ranges: dict[str, tuple[float, float]] = {}
    for po in options.get("PO", []):
        if po.startswith("turnoff="):
            msg = "--PO turnoff=...: processes scaled by 0 are not supported"
            raise OptionError(msg)
        if not po.startswith("map="):
            continue  # verbose and other model switches have no effect here
        patterns, sep, poi = po.removeprefix("map=").partition(":")
        m = _POI.match(poi)
        if not sep or not m or poi in ("0", "1"):
            msg = f"--PO {po!r}: expected map=BIN/PROCESS_REGEX:POI[init,lo,hi]"
            raise OptionError(msg)
        name, declared = m.group(1), m.group(2)
        if declared:
            try:
                values = [float(x) for x in declared.split(",")]
            except ValueError:
                values = []
            if len(values) != 3 or not values[1] < values[2]:
                raise OptionError(f"--PO {po!r}: the range must be [init,lo,hi]")
            ranges[name] = (values[1], values[2])
        maps.append((name, patterns.split(",")))
    if not maps:
        return [], ranges
    card = _core.datacard.read(options.card)
    by_process: dict[str, set[str]] = {}
    for column in card.columns:
        if not card.is_signal(column.process):
            continue
        key = f"{column.bin}/{column.process}"
        chosen = None
        for poi, patterns in maps:
            if any(re.match(p, key) for p in patterns):
                chosen = poi
        if chosen is None:
            msg = f"--PO map: the signal {key} matches no pattern (scaled by 1)"
            raise OptionError(msg + "; hifit needs a POI for every signal process")
        by_process.setdefault(column.process, set()).add(chosen)
    pairs = []
    for process, pois in by_process.items():
        if len(pois) > 1:
            msg = (
                f"--PO map: process {process} has different POIs in different bins "
                f"({', '.join(sorted(pois))}); hifit maps POIs per process"
            )
            raise OptionError(msg)
        pairs.append((process, pois.pop()))
    return pairs, ranges
