"""text2workspace's physics models as hifit's per-process POI map. hifit reads the
card directly, so the model is named with ``--physics-model`` (text2workspace's
``-P``; Combine's own ``-P`` selects MultiDimFit's POIs) and configured with
``--PO``:

* ``defaultModel`` (the default): one ``r`` on every signal;
* ``multiSignalModel``: ``--PO 'map=BIN/PROCESS:POI[init,lo,hi]'`` (patterns are
  regular expressions matched with ``re.match`` against ``bin/process``; the last
  matching map wins; ``:1`` or no match leaves a signal unscaled), POIs in the
  order the maps declare them;
* ``floatingXSHiggs``: ``--PO modes=ggH,qqH,...`` (and ``ggHRange=lo:hi`` ...),
  one ``r_<mode>`` per production mode, signals named ``<production>_<decay>``.
"""

from __future__ import annotations

import re

from .. import _core
from .options import CombineOptions, OptionError

_POI = re.compile(r"^(\w+)(?:\[([^\]]*)\])?$")

# PhysicsModel.py's FloatingXSHiggs
_XS_RANGES = {"ggH": (0.0, 4.0), "qqH": (0.0, 10.0), "VH": (0.0, 20.0),
              "WH": (0.0, 20.0), "ZH": (0.0, 20.0), "ttH": (0.0, 20.0)}  # fmt: skip
_HIGGS_PRODUCTION = ("ggH", "qqH", "VH", "WH", "ZH", "ttH", "tHq", "tHW", "ggZH",
                     "bbH", "WPlusH", "WMinusH")  # fmt: skip

Ranges = dict[str, tuple[float, float, float]]  # POI -> (init, lo, hi)


def poi_map_from_options(
    options: CombineOptions,
) -> tuple[list[tuple[str, str]], Ranges, list[str]]:
    """(process -> POI pairs for hifit.datacard.load_model, POI -> its declared
    (init, lo, hi), the POIs in the model's order); no pairs: the default model."""
    model = options.get("physics-model", "").rsplit(":", 1)[-1]
    items = list(options.get("PO", []))
    if model in ("", "defaultModel"):
        if any(po.startswith("map=") for po in items) and model == "":
            model = "multiSignalModel"  # maps given without naming the model
        else:
            return [], {}, []
    if model == "multiSignalModel":
        return _multi_signal(options, items)
    if model == "floatingXSHiggs":
        return _floating_xs(options, items)
    msg = (
        f"--physics-model {model}: hifit has defaultModel, multiSignalModel and "
        "floatingXSHiggs"
    )
    raise OptionError(msg)


def _signals(options: CombineOptions) -> list[tuple[str, str]]:
    """(bin, process) of every signal column."""
    card = _core.datacard.read(options.card)
    return [(c.bin, c.process) for c in card.columns if card.is_signal(c.process)]


def _pairs(scales: dict[str, set[str]]) -> list[tuple[str, str]]:
    pairs = []
    for process, pois in scales.items():
        scaled = pois - {"1"}
        if len(scaled) > 1 or (scaled and "1" in pois):
            msg = (
                f"process {process} is scaled differently in different bins "
                f"({', '.join(sorted(pois))}); hifit scales each process by one POI"
            )
            raise OptionError(msg)
        if scaled:  # a glob matching the name only
            pairs.append((re.sub(r"([*?\[])", r"[\1]", process), scaled.pop()))
    return pairs


def _multi_signal(options: CombineOptions, items: list[str]):
    maps: list[tuple[str, list[str]]] = []
    ranges: Ranges = {}
    order: list[str] = []
    for po in items:
        if po.startswith("turnoff="):
            raise OptionError(
                "--PO turnoff=...: processes scaled by 0 are not supported"
            )
        if not po.startswith("map="):
            continue  # verbose and other switches have no effect here
        patterns, sep, poi = po.removeprefix("map=").partition(":")
        m = _POI.match(poi)
        if not sep or not m:
            msg = f"--PO {po!r}: expected map=BIN/PROCESS:POI[init,lo,hi] or :1"
            raise OptionError(msg)
        if poi == "0":
            raise OptionError(f"--PO {po!r}: processes scaled by 0 are not supported")
        name, declared = m.group(1), m.group(2)
        if declared:
            try:
                values = [float(x) for x in declared.split(",")]
            except ValueError:
                values = []
            if len(values) != 3 or not values[1] < values[2]:
                raise OptionError(f"--PO {po!r}: the range must be [init,lo,hi]")
            ranges[name] = (values[0], values[1], values[2])
        if name != "1" and name not in order:
            order.append(name)
        maps.append((name, patterns.split(",")))
    scales: dict[str, set[str]] = {}
    card = _core.datacard.read(options.card)
    for column in card.columns:
        key = f"{column.bin}/{column.process}"
        chosen = "1"
        for poi, patterns in maps:
            if any(re.match(p, key) for p in patterns):
                chosen = poi
        if not card.is_signal(column.process):
            if chosen != "1":
                msg = f"--PO map scales the background {key} by {chosen}"
                raise OptionError(msg + "; hifit scales signal processes only")
            continue
        scales.setdefault(column.process, set()).add(chosen)
    pairs = _pairs(scales)
    used = {poi for _, poi in pairs}
    if not used:
        raise OptionError("--PO map: no signal process is scaled by a POI")
    return pairs, ranges, [p for p in order if p in used]


def _floating_xs(options: CombineOptions, items: list[str]):
    modes = ["ggH", "qqH", "VH", "WH", "ZH", "ttH"]
    limits = dict(_XS_RANGES)
    tth_as_ggh = False
    for po in items:
        if po.startswith("modes="):
            modes = [m for m in po.removeprefix("modes=").split(",") if m]
        elif po == "ttH=ggH":
            tth_as_ggh = True
        elif re.match(r"^(\w+)Range=", po):
            mode, _, text = po.partition("Range=")
            lo, sep, hi = text.partition(":")
            try:
                limits[mode] = (float(lo), float(hi))
            except ValueError:
                sep = ""
            if not sep or limits[mode][0] >= limits[mode][1]:
                raise OptionError(f"--PO {po!r}: expected {mode}Range=LO:HI")
        elif not po.startswith(("verbose", "higgsMassRange=")):
            raise OptionError(f"--PO {po!r}: not an option of floatingXSHiggs")
    if tth_as_ggh and "ttH" in modes:
        modes.remove("ttH")

    def scale(production: str) -> str:
        if production in ("ggH", "bbH"):
            return "r_ggH" if "ggH" in modes else "1"
        if production == "qqH":
            return "r_qqH" if "qqH" in modes else "1"
        if production in ("ttH", "tHq", "tHW"):
            if "ttH" in modes:
                return "r_ttH"
            return "r_ggH" if tth_as_ggh else "1"
        return "r_VH" if "VH" in modes else "1"

    signals = _signals(options)
    scales: dict[str, set[str]] = {}
    for channel, process in signals:
        production = process.split("_")[0]
        if production not in _HIGGS_PRODUCTION:
            msg = f"floatingXSHiggs: signal {channel}/{process} is no Higgs production"
            raise OptionError(msg)
        scales.setdefault(process, set()).add(scale(production))
    pairs = _pairs(scales)
    used = {poi for _, poi in pairs}
    ranges = {f"r_{m}": (1.0, *limits[m]) for m in modes if f"r_{m}" in used}
    return pairs, ranges, [f"r_{m}" for m in modes if f"r_{m}" in used]
