"""``-M Impacts``: combineTool.py's Impacts workflow (--doInitialFit, --doFits,
-o impacts.json) in one command.

As combineTool runs it: an initial MultiDimFit ``--algo singles`` of the POIs, then
for every free nuisance parameter MultiDimFit ``--algo impact``: the parameter's own
profile-likelihood interval, and one fit with it fixed at each end, recording the
POIs there. The fits are :func:`hifit.infer.ranking`'s (``profile_delta`` puts the
shifts at the crossings, ``keep_fits`` keeps every POI of the refits). The JSON is
combineTool's: ``{"POIs": [{"name", "fit": [lo, c, hi]}], "params": [{"name", "fit",
"prefit", "groups", "type", "<poi>": [lo, c, hi], "impact_<poi>"}], "method"}``.
The initial fit's rows go to the ``limit`` tree as MultiDimFit singles writes them.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import numpy as np

from .options import CombineOptions, OptionError
from .setup import Setup

# combineTool passes these to its jobs only; one command does all steps at once
WORKFLOW_FLAGS = (
    "doInitialFit",
    "doFits",
    "splitInitial",
    "allPars",
    "parallel",
    "job-mode",
    "floatOtherPOIs",
    "saveInactivePOI",
)

CONSTRAINT_TYPES = {
    "constrained_by_normal": "Gaussian",
    "constrained_by_poisson": "Poisson",
    "unconstrained": "Unconstrained",
}


def extra_outputs(options: CombineOptions) -> list[str]:
    # read before any work: the place to refuse what this workflow does not do
    if options.get("approx"):
        msg = (
            f"--approx {options.get('approx')}: not supported; hifit combine -M "
            "Impacts runs the fits (they take seconds)"
        )
        raise OptionError(msg)
    output = options.get("output")
    return [output] if output else []


def _pois(setup: Setup) -> list[str]:
    return list(setup.options.get("parameters", [])) or list(setup.pois)


def _select(setup: Setup, pois: list[str]) -> list[str]:
    """The parameters to scan: --named, else every free parameter but the POIs;
    less --exclude (names or rgx{...}, searched as combineTool does)."""
    names = setup.model.config.par_names
    named = [n for n in (setup.options.get("named") or "").split(",") if n]
    for n in named:
        if n not in names:
            raise OptionError(f"--named: no parameter named {n!r} in the model")
    if not named:
        named = [n for i, n in enumerate(names) if not setup.fixed[i] and n not in pois]
    excluded: set[str] = set()
    for item in filter(None, (setup.options.get("exclude") or "").split(",")):
        m = re.fullmatch(r"'?rgx\{(.*)\}'?", item)
        if m:
            try:
                pattern = re.compile(m.group(1))
            except re.error as err:
                raise OptionError(
                    f"--exclude: bad regular expression {item!r}"
                ) from err
            excluded.update(n for n in named if pattern.search(n))
        else:
            excluded.add(item)
    return [n for n in named if n not in excluded]


def _prefit(setup: Setup, widths: np.ndarray) -> dict[str, dict[str, Any]]:
    """combineTool's prefit_from_workspace: [-1 sigma, nominal, +1 sigma] of each
    constraint term, the type of that term, and the card's groups."""
    config = setup.model.config
    kinds: dict[int, str] = {}
    for p in config.paramsets:
        kind = CONSTRAINT_TYPES.get(str(p.constraint).split(".")[-1], "Unrecognised")
        kinds.update({p.offset + k: kind for k in range(p.size)})
    groups: dict[str, list[str]] = {}
    for g in setup.built.card.groups:
        for member in g.members:
            groups.setdefault(member, []).append(g.name)
    out = {}
    for i, name in enumerate(config.par_names):
        value, width = setup.init[i], float(widths[i])
        kind = kinds[i] if width > 0 or kinds[i] == "Unconstrained" else "Unconstrained"
        spread = width if kind != "Unconstrained" else 0.0
        prefit = [value - spread, value, value + spread]
        if kind == "Poisson":
            prefit = _poisson_interval(_count_scale(width))
        out[name] = {"prefit": prefit, "type": kind, "groups": groups.get(name, [])}
    return out


def _count_scale(width: float) -> float:
    """A Poisson-constrained parameter (gmN N) is a rate multiplier in hifit (1 at
    nominal, width 1/sqrt(N)) and the count N itself in Combine: the factor N."""
    return 1.0 / (width * width)


def _poisson_interval(count: float) -> list[float]:
    """combineTool's prefit of a Poisson constraint: MINOS of -ln Pois(N | x) alone,
    where x - N ln x rises by 1/2 from its minimum at x = N (Newton on each side)."""
    if count <= 0:
        return [0.0, 0.0, 0.0]
    ends = []
    for x in (count - math.sqrt(count), count + math.sqrt(count)):
        x = max(x, 1e-3 * count)
        for _ in range(60):
            f = x - count * math.log(x / count) - count - 0.5
            x = max(x - f / (1.0 - count / x), 1e-9 * count)
        ends.append(x)
    return [ends[0], count, ends[1]]


def run(setup: Setup):
    from ..infer import ranking
    from ..infer.ranking import prefit_uncertainties
    from .methods import multidimfit
    from .methods.result import MethodResult

    pois = _pois(setup)
    setup = setup.with_poi(pois[0])
    params = _select(setup, pois)
    # the initial fit: MultiDimFit --algo singles on the POIs
    singles = multidimfit.run(
        replace(setup, options=replace(setup.options, algo="singles"))
    )
    text = f"Have POIs: {pois}\n" + singles.text
    given = [f"--{f}" for f in WORKFLOW_FLAGS if f in setup.options.extra]
    if given:
        text += f"(one command runs every step: {', '.join(given)} need not be given)\n"
    if singles.failure:
        return MethodResult(singles.rows, text, f"initial fit: {singles.failure}")
    document: dict[str, Any] = {
        "POIs": [
            {
                "name": p,
                "fit": [
                    singles.rows[1 + 2 * k][p],
                    singles.rows[0][p],
                    singles.rows[2 + 2 * k][p],
                ],
            }
            for k, p in enumerate(pois)
        ],
        "params": [],
        "method": "default",
    }
    text += f"Have parameters: {len(params)}\n"
    from ..infer import fit

    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    result = ranking(
        setup.data,
        setup.model,
        fit_result=best,
        prefit=False,
        profile_delta=multidimfit._minos_level(setup),
        keep_fits=True,
        **setup.fit_kwargs(),
    )
    names = setup.model.config.par_names
    row_of = {label: k for k, label in enumerate(result.labels)}
    widths = prefit_uncertainties(setup.model)
    prefit = _prefit(setup, widths)
    failed = [p for p in params if _failed(p, result.message)]
    width = max([len(p) for p in params] + [9])
    text += f"\n --- MultiDimFit ---\nParameter impacts: \n  {'Parameter':<{width}s} :"
    text += f"   {'Best-fit':<21s}" + "".join(f"  {p:<13s}" for p in pois) + "\n"
    for name in params:
        if name in failed:
            continue
        k = row_of[name]
        theta = float(result.bestfit[k])
        lo = theta + float(result.postfit_down_shift[k])
        hi = theta + float(result.postfit_up_shift[k])
        scale = 1.0  # Poisson parameters in Combine's units (the count)
        if prefit[name]["type"] == "Poisson":
            scale = _count_scale(float(widths[names.index(name)]))
        fitted = [lo * scale, theta * scale, hi * scale]
        entry = {"name": name, **prefit[name], "fit": fitted}
        shown = []
        for p in pois:
            i = names.index(p)
            centre = float(best.bestfit[i])
            down = _value(result.postfit_down_fit[k], i, centre)
            up = _value(result.postfit_up_fit[k], i, centre)
            entry[p] = [down, centre, up]
            entry[f"impact_{p}"] = max(abs(up - centre), abs(down - centre))
            shown.append(f"  {down - centre:+6.3f}/{up - centre:+6.3f}")
        text += f"  {name:<{width}s} : {theta:+8.3f}  {lo - theta:+6.3f}/"
        text += f"{hi - theta:+6.3f}" + "".join(shown) + "\n"
        document["params"].append(entry)
    failure = None
    if failed:
        text += f"Missing inputs: {','.join(failed)}\n"
        failure = f"the impact fits of {', '.join(failed)} failed: {result.message}"
    output = setup.options.get("output")

    def write() -> None:
        from ..io import write_json_atomic

        write_json_atomic(output, document)

    return MethodResult(
        singles.rows, text, failure, write_extra=write if output else None
    )


def _failed(name: str, message: str) -> bool:
    """The refit messages name the parameter, then the shift or its interval."""
    pattern = rf"(?<![\w.-]){re.escape(name)} (post-fit|interval)"
    return re.search(pattern, message) is not None


def _value(refit: np.ndarray, i: int, centre: float) -> float:
    """The POI in a refit; the best fit where no refit ran (the shift was clipped
    back onto it)."""
    return centre if np.isnan(refit[i]) else float(refit[i])
