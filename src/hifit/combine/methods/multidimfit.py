"""-M MultiDimFit: the best fit of the POIs and, per --algo, their profile-likelihood
intervals (singles), a likelihood scan (grid, 1 or 2 POIs) or the likelihood at a
fixed point (fixed). Rows as Combine commits them: first the best fit
(quantileExpected -1, deltaNLL 0), then the algorithm's points."""

from __future__ import annotations

from scipy import stats

from ...infer import fit
from ...infer.scans import minos
from ..options import CombineOptions
from ..setup import Setup
from .result import MethodResult


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def _pois(setup: Setup) -> list[str]:
    return list(setup.options.get("parameters", [])) or list(setup.pois)


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    pois = _pois(setup)
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    names = setup.model.config.par_names
    if not best.valid and not _at_bound(setup, best, pois):
        return MethodResult(
            [], "Doing initial fit: \n", f"the initial fit failed: {best.status}"
        )
    values = {p: float(best.bestfit[names.index(p)]) for p in pois}
    rows = [{**values, "deltaNLL": 0.0}]
    text = "Doing initial fit: \n"
    if opts.algo == "singles":
        level = _minos_level(setup)
        text += "\n --- MultiDimFit ---\n"
        text += "best fit parameter values and profile-likelihood uncertainties: \n"
        width = max(len(p) for p in pois)
        for poi in pois:
            one = setup.with_poi(poi)
            found = minos(
                setup.data,
                one.model,
                poi,
                fit_result=best,
                delta_twice_nll=level,
                **one.fit_kwargs(),
            )
            interval = found[poi]
            if not interval.valid:
                return MethodResult(
                    rows,
                    text,
                    f"the interval of {poi} failed: {interval.message}",
                )
            lo, hi = -interval.lower, interval.upper
            rows.append(
                {
                    **values,
                    poi: values[poi] - lo,
                    "quantileExpected": -0.32,
                    "deltaNLL": 0.0,
                }
            )
            rows.append(
                {
                    **values,
                    poi: values[poi] + hi,
                    "quantileExpected": 0.32,
                    "deltaNLL": 0.0,
                }
            )
            text += f"   {poi:>{width}s} :  {values[poi]:+8.3f}   "
            text += f"{-lo:+6.3f}/{hi:+6.3f} (68%)\n"
    return MethodResult(rows=rows, text=text)


def _at_bound(setup: Setup, best, pois) -> bool:
    names = setup.model.config.par_names
    for p in pois:
        i = names.index(p)
        if best.bestfit[i] in setup.bounds[i]:
            return True
    return False


def _minos_level(setup: Setup) -> float:
    # Combine's MINOS errorlevel: 0.5 * chi2_1^-1(0.68) on counting cards; cards
    # with shapes fall back to 0.5 (CascadeMinimizer::minos rebuilds the minimizer)
    return 1.0 if setup.built.card.shapes else float(stats.chi2.ppf(0.68, 1))
