"""-M AsymptoticLimits: CLs upper limits from the asymptotic formulae (Combine's
qtilde and its expected quantiles 2.5/16/50/84/97.5 %). Rows as Combine commits
them: the expected limits first (quantileExpected = the quantile), the observed
last (-1, its limitErr the accuracy the search reached). ``--run``: both, observed,
expected, or blind (the expected limits from the a-priori background-only Asimov
data set: the data are never fitted); ``--noFitAsimov``: the expected limits from
that a-priori data set, the observed from the data."""

from __future__ import annotations

import numpy as np

from ...infer import upper_limit
from ..options import CombineOptions, OptionError
from ..setup import Setup, asimov_at
from .result import MethodResult

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)
UNSUPPORTED = ("singlePoint", "getLimitFromGrid", "signalStrengthForExpected")


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def _check(options: CombineOptions) -> None:
    for name in UNSUPPORTED:
        if name in options.extra:
            raise OptionError(f"--{name} is not supported by hifit's AsymptoticLimits")
    if options.get("rule", "CLs") != "CLs":
        raise OptionError("--rule: hifit's AsymptoticLimits computes CLs only")
    if not options.get("qtilde", True):
        raise OptionError("--qtilde 0: hifit's AsymptoticLimits uses qtilde only")


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    _check(opts)
    setup.require_floating([setup.poi])
    datasets = list(setup.toys()) if opts.toys > 0 else [(opts.toys, setup.data)]
    rows: list[dict] = []
    text = ""
    for i_toy, data in datasets:
        found, printed, failure = _limits(setup, data)
        for row in found:
            if opts.toys > 0:
                row["iToy"] = np.int32(i_toy)
        rows += found
        text += printed
        if failure:
            return MethodResult(rows, text, failure)
    return MethodResult(rows, text)


def _limits(setup: Setup, data: np.ndarray) -> tuple[list[dict], str, str | None]:
    opts = setup.options
    observed = opts.run in ("both", "observed")
    expected = opts.run != "observed"
    a_priori = opts.run == "blind" or bool(opts.get("noFitAsimov"))
    level = 1.0 - opts.cl
    kwargs = {
        "level": level,
        "convention": "combine",
        "asimov": "prefit" if a_priori else "postfit",
        **setup.fit_kwargs(),
    }
    if opts.run == "blind":  # the data are never looked at
        data = asimov_at(setup, 0.0, frequentist=False)
    limits = upper_limit(data, setup.model, **kwargs)
    if not limits.valid:
        return [], "", f"the asymptotic limit fits failed: {limits.message}"
    obs = limits if observed else None
    exp = limits if expected else None
    poi = setup.poi
    rows: list[dict] = []
    text = "\n -- AsymptoticLimits ( CLs ) --\n"
    if obs is not None:
        text += f"Observed Limit: {poi} < {obs.observed:6.4f}\n"
    if exp is not None:
        for q, value in zip(QUANTILES, exp.expected, strict=True):
            rows.append({"limit": value, "quantileExpected": q})
            text += f"Expected {q * 100:4.1f}%: {poi} < {value:6.4f}\n"
    if obs is not None:
        # Combine writes its bisection's last half-bracket; hifit's search is Brent's
        # to 1e-6 relative, so this is the (much smaller) accuracy it achieved
        err = obs.observed_err
        rows.append({"limit": obs.observed, "limitErr": err, "quantileExpected": -1.0})
    return rows, text + "\n", None
