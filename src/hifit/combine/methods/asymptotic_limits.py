"""-M AsymptoticLimits: CLs upper limits from the asymptotic formulae (Combine's
qtilde, its expected quantiles 2.5/16/50/84/97.5 %); six rows, the expected ones
first (quantileExpected = the quantile), the observed last (-1). ``--run``: both,
observed, expected, or blind (expected from the a-priori background-only Asimov
data set, the data never looked at)."""

from __future__ import annotations

import numpy as np

from ...infer import upper_limit
from ..options import CombineOptions
from ..setup import Setup, asimov_at
from .result import MethodResult

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    data = setup.data
    if opts.run == "blind":
        # Combine: --run blind is expected limits with --noFitAsimov
        data = asimov_at(setup, 0.0, frequentist=False)
    want_observed = opts.run in ("both", "observed")
    want_expected = opts.run != "observed"
    limits = upper_limit(
        data,
        setup.model,
        level=1.0 - opts.cl,
        convention="combine",
        **setup.fit_kwargs(),
    )
    if not limits.valid:
        return MethodResult(
            [], "", f"the asymptotic limit fits failed: {limits.message}"
        )
    poi = setup.poi
    rows: list[dict[str, float]] = []
    text = "\n -- AsymptoticLimits ( CLs ) --\n"
    if want_observed:
        text += f"Observed Limit: {poi} < {limits.observed:6.4f}\n"
    if want_expected:
        for q, value in zip(QUANTILES, limits.expected, strict=True):
            rows.append({"limit": value, "quantileExpected": np.float32(q)})
            text += f"Expected {q * 100:4.1f}%: {poi} < {value:6.4f}\n"
    if want_observed:
        rows.append({"limit": limits.observed, "quantileExpected": np.float32(-1.0)})
    return MethodResult(rows=rows, text=text + "\n")
