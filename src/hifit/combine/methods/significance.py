"""-M Significance: the discovery significance Z = sqrt(q0) of the data set the
options select (observed, the Asimov data set of ``-t -1 --expectSignal 1``, its
frequentist variant, or each toy), one row per data set."""

from __future__ import annotations

from scipy import stats

from ...infer import significance
from ..options import CombineOptions
from ..setup import Setup
from .result import MethodResult


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def _z(setup: Setup, data) -> tuple[float, str | None]:
    r = significance(data, setup.model, **setup.fit_kwargs(), convention="combine")
    if not r.valid:
        return r.observed_significance, f"the significance fits failed: {r.message}"
    return r.observed_significance, None


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    pvalue = bool(opts.get("pvalue"))
    datasets = list(setup.toys()) if opts.toys > 0 else [(opts.toys, setup.data)]
    rows, text, failure = [], "", None
    for i_toy, data in datasets:
        z, failed = _z(setup, data)
        if failed:
            failure = failure or failed
            continue
        value = float(stats.norm.sf(z)) if pvalue else z
        rows.append({"limit": value, "iToy": i_toy})
        label = "p-value of background: " if pvalue else "Significance: "
        text += f"\n -- Significance -- \n{label}{value:.6g}\n"
        if pvalue:
            text += f"       (Significance = {z:.6g})\n"
        elif opts.get("verbose", 0) > 0:
            text += f"       (p-value = {stats.norm.sf(z):.6g})\n"
    return MethodResult(rows=rows, text=text, failure=failure)
