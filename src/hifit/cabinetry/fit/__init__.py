"""Statistical inference with cabinetry's API: fit, ranking, scan, limit, significance.

Same functions, keyword arguments, defaults and result types as ``cabinetry.fit``,
computed by hifit's C++ engine (``hifit.infer``) instead of pyhf + iminuit:

* :func:`fit`: maximum-likelihood fit, optional MINOS and saturated-model goodness
  of fit;
* :func:`ranking`: POI shifts with each nuisance parameter fixed at its best fit ±
  pre-/post-fit uncertainty (four refits per parameter, run on several threads);
* :func:`scan`: profile likelihood of one parameter, ±2σ around the best fit;
* :func:`limit`: observed and expected CLs upper limits (asymptotic q̃μ);
* :func:`significance`: discovery significance (asymptotic q0).

Minimizer options. hifit's minimizer is a trust-region Newton method on the exact
Hessian, so Minuit's ``strategy`` has no meaning and ``custom_fit`` (raw iminuit
instead of pyhf) gives the same results as the default; both are accepted and
ignored. ``maxiter`` caps the Newton iterations (at most hifit's default of 500),
and ``tolerance`` can only tighten hifit's convergence goal (EDM < 1e-9 on
-2 ln L, much stricter than Minuit's default 2e-4).

Limits are found by hifit's bracketing root finder to a relative precision of 1e-6
in the POI, finer than ``poi_tolerance`` asks; ``bracket`` and ``maxsteps`` are
checked but the search brackets the limits itself.
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from ... import infer
from ...executor import current_executor
from ...executor_checkpoint import current_job
from ...infer.mle import FitResult as EngineFitResult
from ...infer.ranking import SHIFTS
from ...model import Model
from .. import model_utils
from .results_containers import (
    FitResults,
    LimitResults,
    RankingResults,
    ScanResults,
    SignificanceResults,
)

__all__ = [
    "FitResults",
    "LimitResults",
    "RankingResults",
    "ScanResults",
    "SignificanceResults",
    "fit",
    "limit",
    "print_results",
    "ranking",
    "scan",
    "significance",
]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

Bounds = Sequence[tuple[float, float]]

# hifit's own convergence goal (EDM on -2 ln L) and iteration budget.
_EDM_GOAL = 1e-9
_MAX_ITERATIONS = 500
# Ranking refits run in parallel; their results do not depend on the thread count.
_JOBS = min(8, os.cpu_count() or 1)

# Engine fit results behind recent FitResults, by content: the ranking passes them
# to the C++ impacts (which needs the covariance), and FitResults stays cabinetry's
# plain named tuple.
_ENGINE_FITS: OrderedDict[bytes, EngineFitResult] = OrderedDict()
_ENGINE_FITS_KEPT = 32


def _fit_key(bestfit: Any, uncertainty: Any) -> bytes:
    arrays = (np.asarray(bestfit, dtype=float), np.asarray(uncertainty, dtype=float))
    return b"|".join(a.tobytes() for a in arrays)


def _remember(fit_results: FitResults, engine: EngineFitResult) -> None:
    key = _fit_key(fit_results.bestfit, fit_results.uncertainty)
    _ENGINE_FITS[key] = engine
    _ENGINE_FITS.move_to_end(key)
    while len(_ENGINE_FITS) > _ENGINE_FITS_KEPT:
        _ENGINE_FITS.popitem(last=False)


def _engine_fit_of(fit_results: FitResults) -> EngineFitResult | None:
    return _ENGINE_FITS.get(_fit_key(fit_results.bestfit, fit_results.uncertainty))


def print_results(fit_results: FitResults) -> None:
    """Log ``label = value +/- uncertainty``, marking fixed parameters (constant)."""
    width = max(len(label) for label in fit_results.labels)
    log.info("fit results (with symmetric uncertainties):")
    for label, value, unc in zip(
        fit_results.labels, fit_results.bestfit, fit_results.uncertainty, strict=True
    ):
        constant = "  (constant)" if unc == 0.0 else ""
        log.info(f"{label:<{width}} = {value: .4f} +/- {unc:.4f}{constant}")


# --- single fits --------------------------------------------------------------------


def _minimizer_options(maxiter: int | None, tolerance: float | None) -> dict[str, Any]:
    """hifit's iteration cap and EDM goal for cabinetry's ``maxiter``/``tolerance``.

    Minuit stops at EDM < 0.002·tolerance; hifit keeps its stricter goal unless that
    one is stricter still.
    """
    iterations = _MAX_ITERATIONS if maxiter is None else max(1, min(maxiter, 500))
    edm = _EDM_GOAL if tolerance is None else min(_EDM_GOAL, 0.002 * tolerance)
    return {"max_iterations": iterations, "edm_tolerance": edm}


class _FitSetup:
    """Init, fixed flags and bounds of a fit (None: the model's suggestions)."""

    def __init__(
        self,
        model: Model,
        init_pars: Sequence[float] | None,
        fix_pars: Sequence[bool] | None,
        par_bounds: Bounds | None,
        maxiter: int | None = None,
        tolerance: float | None = None,
    ) -> None:
        config = model.config
        # cabinetry uses `x or default`: empty lists mean "default" too
        self.init = list(init_pars or config.suggested_init())
        self.fixed = list(fix_pars or config.suggested_fixed())
        self.bounds = [tuple(b) for b in (par_bounds or config.suggested_bounds())]
        self.minimizer = _minimizer_options(maxiter, tolerance)

    def engine_fit(
        self,
        model: Model,
        data: Sequence[float],
        *,
        fix: dict[int, float] | None = None,
    ) -> EngineFitResult:
        """A fit, with the parameters in ``fix`` held at the given values."""
        init, fixed = list(self.init), list(self.fixed)
        for index, value in (fix or {}).items():
            init[index], fixed[index] = value, True
        result = infer.fit(data, model, init, self.bounds, fixed, **self.minimizer)
        _check_fit(result)
        return result


def _check_fit(result: EngineFitResult) -> None:
    """Raise for a failed minimization, as pyhf does; warn for a bad covariance."""
    if result.status == "converged":
        return
    if result.status.startswith("Hessian"):
        log.warning(f"fit converged, but: {result.status}")
        return
    raise ValueError(f"Minimization failed, minimum is invalid: {result.status}")


def _fit_results(model: Model, result: EngineFitResult) -> FitResults:
    fit_results = FitResults(
        np.array(result.bestfit),
        np.array(result.uncertainty),
        model.config.par_names,
        np.array(result.corr_mat),
        float(result.twice_nll),
    )
    _remember(fit_results, result)
    return fit_results


def _minos_delta(minos_cl: float | None) -> float:
    """Rise of -2 ln L defining a MINOS interval, with iminuit's ``cl`` convention.

    None: 1 (68.27 %); cl < 1: a probability; cl >= 1: a number of standard
    deviations.
    """
    if minos_cl is None:
        return 1.0
    if minos_cl >= 1:
        return float(minos_cl) ** 2
    return statistics.NormalDist().inv_cdf(0.5 + 0.5 * minos_cl) ** 2


def _run_minos(
    model: Model,
    data: Sequence[float],
    setup: _FitSetup,
    best: EngineFitResult,
    minos: Sequence[str],
    minos_cl: float | None,
) -> dict[str, tuple[float, float]]:
    labels = model.config.par_names
    requested = []
    for name in minos:
        if name not in labels:
            log.warning(f"parameter {name} not found in model")
        elif setup.fixed[labels.index(name)]:
            log.warning(f"parameter {name} is fixed, skipping MINOS")
        else:
            requested.append(name)
    if not requested:
        return {}
    log.info(f"running MINOS for {', '.join(requested)}")
    intervals = infer.minos(
        data,
        model,
        requested,
        fit_result=best,
        delta_twice_nll=_minos_delta(minos_cl),
        init_pars=setup.init,
        par_bounds=setup.bounds,
        fixed_params=setup.fixed,
    )
    results = {}
    log.info("MINOS results:")
    width = max(len(label) for label in labels)
    for i, label in enumerate(labels):  # parameter order, as iminuit reports them
        if label in intervals:
            r = intervals[label]
            if not r.valid:
                log.warning(f"MINOS for {label} did not converge: {r.message}")
            log.info(
                f"{label:<{width}} = {best.bestfit[i]: .4f} "
                f"{r.lower:+.4f} {r.upper:+.4f}"
            )
            results[label] = (float(r.lower), float(r.upper))
    return results


def _goodness_of_fit(
    model: Model, data: Sequence[float], best: EngineFitResult
) -> float:
    """Saturated-model p-value; NaN when there are no degrees of freedom left."""
    log.info("calculating goodness-of-fit")
    gof = infer.goodness_of_fit(data, model, best)
    log.debug(f"Delta NLL = {gof.twice_delta_nll / 2:.6f}")
    log.debug(f"number of degrees of freedom: {gof.ndof:.0f}")
    if gof.ndof <= 0:
        log.warning(
            f"cannot calculate p-value: {gof.ndof:.0f} degrees of freedom and "
            f"Delta NLL = {gof.twice_delta_nll / 2:.6f}"
        )
        return np.nan
    log.info(f"p-value for goodness-of-fit test: {gof.p_value:.2%}")
    return gof.p_value


def fit(
    model: Model,
    data: Sequence[float],
    *,
    minos: str | Sequence[str] | None = None,
    minos_cl: float | None = None,
    goodness_of_fit: bool = False,
    init_pars: Sequence[float] | None = None,
    fix_pars: Sequence[bool] | None = None,
    par_bounds: Bounds | None = None,
    strategy: Literal[0, 1, 2] | None = None,
    maxiter: int | None = None,
    tolerance: float | None = None,
    custom_fit: bool = False,
) -> FitResults:
    """Maximum-likelihood fit of ``model`` to ``data`` (auxiliary data included).

    Args:
        model: the model
        data: main data followed by the auxiliary data
        minos: parameter name(s) to run MINOS for
        minos_cl: MINOS confidence level (iminuit convention; default 68.27 %)
        goodness_of_fit: compute the saturated-model goodness-of-fit p-value
        init_pars, fix_pars, par_bounds: full-length overrides of the model's
            suggested inits, fixed flags and bounds
        strategy, custom_fit: accepted for compatibility, no effect
        maxiter, tolerance: see the module documentation

    Returns:
        FitResults

    Raises:
        ValueError: if the minimization fails
    """
    log.info("performing maximum likelihood fit")
    setup = _FitSetup(model, init_pars, fix_pars, par_bounds, maxiter, tolerance)
    best = setup.engine_fit(model, data)
    log.info(
        f"fit status: {best.status}, EDM {best.edm:.3g}, {best.iterations} iterations"
    )
    fit_results = _fit_results(model, best)
    log.debug(f"-2 log(L) = {fit_results.best_twice_nll:.6f} at best-fit point")
    for label, at_bound in zip(model.config.par_names, best.at_bound, strict=True):
        if at_bound:
            log.info(f"{label} is at a bound: its uncertainty is one-sided, inwards")
    if minos is not None:
        names = [minos] if isinstance(minos, str) else list(minos)
        fit_results = fit_results._replace(
            minos_uncertainty=_run_minos(model, data, setup, best, names, minos_cl)
        )
    print_results(fit_results)
    if goodness_of_fit:
        fit_results = fit_results._replace(
            goodness_of_fit=_goodness_of_fit(model, data, best)
        )
    return fit_results


# --- ranking ------------------------------------------------------------------------


def _poi_model(model: Model, poi_name: str | None, what: str) -> Model:
    """The model with the requested POI; ValueError if there is none."""
    if poi_name is None and model.config.poi_index is None:
        raise ValueError(f"no POI specified, cannot calculate {what}")
    return model_utils.with_poi(model, poi_name)


def _refit_impacts(
    model: Model,
    data: Sequence[float],
    setup: _FitSetup,
    fit_results: FitResults,
    index: int,
    shifts: Sequence[float],
) -> list[float]:
    """POI shifts with parameter ``index`` fixed at best fit + each shift.

    A zero shift needs no fit and has no impact (unconstrained parameters pre-fit,
    fixed parameters).
    """
    poi = model.config.poi_index
    nominal = fit_results.bestfit[poi]
    lo, hi = setup.bounds[index]
    impacts = []
    for shift in shifts:
        if shift == 0.0:
            impacts.append(0.0)
            continue
        # clipped to the bounds, as Combine's impacts do
        value = min(max(fit_results.bestfit[index] + shift, lo), hi)
        if value != fit_results.bestfit[index] + shift:
            log.info(f"{model.config.par_names[index]}: shift clipped to {value:g}")
        if value == fit_results.bestfit[index]:
            impacts.append(0.0)
            continue
        refit = setup.engine_fit(model, data, fix={index: value})
        impacts.append(float(refit.bestfit[poi] - nominal))
    return impacts


def _engine_impacts(
    model: Model,
    data: Sequence[float],
    setup: _FitSetup,
    best: EngineFitResult,
) -> dict[str, list[float]]:
    """Impacts of the free parameters from the C++ ranking (parallel refits)."""
    result = infer.ranking(
        data,
        model,
        fit_result=best,
        jobs=_JOBS,
        executor=current_executor(),  # hifit cabinetry ranking --dask / --scheduler
        checkpoint=current_job("ranking"),  # hifit cabinetry ranking --resume
        init_pars=setup.init,
        par_bounds=setup.bounds,
        fixed_params=setup.fixed,
    )
    if not result.valid:
        log.warning(f"{result.failed_fits} ranking fit(s) did not converge")
    for label, clipped in zip(result.labels, result.clipped, strict=True):
        if clipped.any():
            shifts = [k for k, c in zip(SHIFTS, clipped, strict=True) if c]
            log.info(f"{label}: {', '.join(shifts)} clipped to the parameter's bound")
    columns = zip(
        result.prefit_up,
        result.prefit_down,
        result.postfit_up,
        result.postfit_down,
        strict=True,
    )
    return {
        label: [float(x) for x in impacts]
        for label, impacts in zip(result.labels, columns, strict=True)
    }


def ranking(
    model: Model,
    data: Sequence[float],
    *,
    fit_results: FitResults | None = None,
    poi_name: str | None = None,
    init_pars: Sequence[float] | None = None,
    fix_pars: Sequence[bool] | None = None,
    par_bounds: Bounds | None = None,
    strategy: Literal[0, 1, 2] | None = None,
    maxiter: int | None = None,
    tolerance: float | None = None,
    custom_fit: bool = False,
) -> RankingResults:
    """Impact of every nuisance parameter on the POI.

    Each parameter (but the POI) is fixed at its best-fit value ± its pre-fit and ±
    its post-fit uncertainty, the model is refitted and the POI shift recorded.
    Pre-fit shifts are taken around the best fit, as cabinetry does.

    Args:
        model, data: as for :func:`fit`
        fit_results: the nominal fit; fitted here if not given
        poi_name: impacts on this parameter (default: the model's POI)
        init_pars, fix_pars, par_bounds, strategy, maxiter, tolerance, custom_fit:
            as for :func:`fit`

    Returns:
        RankingResults, parameters in model order without the POI

    Raises:
        ValueError: if there is no POI
    """
    model = _poi_model(model, poi_name, "ranking")
    setup = _FitSetup(model, init_pars, fix_pars, par_bounds, maxiter, tolerance)
    best = None
    if fit_results is None:
        best = setup.engine_fit(model, data)
        fit_results = _fit_results(model, best)
    else:
        best = _engine_fit_of(fit_results)
    labels = model.config.par_names
    poi = model.config.poi_index
    prefit = model_utils.prefit_uncertainties(model)
    # The C++ ranking covers the free parameters when the fit is one of ours; the
    # rest (user-fixed parameters keep pre-fit impacts, foreign fit results) refit
    # here, one fit at a time.
    engine = _engine_impacts(model, data, setup, best) if best is not None else {}
    impacts = []
    for i, label in enumerate(labels):
        if i == poi:
            continue
        if label not in engine:
            log.info(f"calculating impact of {label} on {labels[poi]}")
            post = fit_results.uncertainty[i]
            shifts = (prefit[i], -prefit[i], post, -post)
            engine[label] = _refit_impacts(model, data, setup, fit_results, i, shifts)
        impacts.append(engine[label])
    impacts_np = np.asarray(impacts, dtype=float).reshape(-1, 4)
    keep = [i for i in range(len(labels)) if i != poi]
    return RankingResults(
        np.asarray(fit_results.bestfit)[keep],
        np.asarray(fit_results.uncertainty)[keep],
        [labels[i] for i in keep],
        impacts_np[:, 0],
        impacts_np[:, 1],
        impacts_np[:, 2],
        impacts_np[:, 3],
    )


# --- scan ---------------------------------------------------------------------------


def scan(
    model: Model,
    data: Sequence[float],
    par_name: str,
    *,
    par_range: tuple[float, float] | None = None,
    n_steps: int = 11,
    init_pars: Sequence[float] | None = None,
    fix_pars: Sequence[bool] | None = None,
    par_bounds: Bounds | None = None,
    strategy: Literal[0, 1, 2] | None = None,
    maxiter: int | None = None,
    tolerance: float | None = None,
    custom_fit: bool = False,
) -> ScanResults:
    """Profile-likelihood scan of ``par_name``.

    Args:
        model, data: as for :func:`fit`
        par_name: parameter to scan (indexed name for vector parameters, e.g.
            ``staterror_SR[0]``)
        par_range: scanned range; default: best fit ± 2σ
        n_steps: number of points (``np.linspace``)
        init_pars, fix_pars, par_bounds, strategy, maxiter, tolerance, custom_fit:
            as for :func:`fit`

    Returns:
        ScanResults with -2 Δln L to the unconstrained fit

    Raises:
        ValueError: if the parameter is not in the model
    """
    labels = model.config.par_names
    index = model_utils._parameter_index(par_name, labels)
    if index is None:
        raise ValueError(f"parameter {par_name} not found in model")
    setup = _FitSetup(model, init_pars, fix_pars, par_bounds, maxiter, tolerance)
    best = setup.engine_fit(model, data)
    par_mle, par_unc = best.bestfit[index], best.uncertainty[index]
    if par_range is None:
        par_range = (par_mle - 2 * par_unc, par_mle + 2 * par_unc)
    values = np.linspace(par_range[0], par_range[1], n_steps)
    log.info(
        f"performing likelihood scan for {par_name} in range ({par_range[0]:.3f}, "
        f"{par_range[1]:.3f}) with {n_steps} steps"
    )
    result = infer.scan(
        data,
        model,
        index,
        values,
        executor=current_executor(),
        checkpoint=current_job("scan"),  # hifit cabinetry scan --resume
        init_pars=setup.init,
        par_bounds=setup.bounds,
        fixed_params=setup.fixed,
    )
    if not np.all(result.valid):
        log.warning(f"scan fits at {values[~result.valid]} did not converge")
    delta_nlls = np.asarray(result.twice_nll, dtype=float) - best.twice_nll
    return ScanResults(par_name, par_mle, par_unc, values, delta_nlls)


# --- limits and significance ----------------------------------------------------------


def _cl_label(confidence_level: float) -> str:
    """The confidence level in percent, with 2 decimals only when needed."""
    digits = 0 if (confidence_level * 100).is_integer() else 2
    return f"{confidence_level:.{digits}%}"


def limit(
    model: Model,
    data: Sequence[float],
    *,
    bracket: Sequence[float] | None = None,
    poi_tolerance: float = 0.01,
    maxsteps: int = 100,
    confidence_level: float = 0.95,
    poi_name: str | None = None,
    init_pars: Sequence[float] | None = None,
    fix_pars: Sequence[bool] | None = None,
    par_bounds: Bounds | None = None,
    strategy: Literal[0, 1, 2] | None = None,
    maxiter: int | None = None,
    tolerance: float | None = None,
) -> LimitResults:
    """Observed and expected CLs upper limits on the POI (asymptotic q̃μ).

    The lower bound of the POI is raised to 0 if negative (needed by q̃μ).

    Args:
        model, data: as for :func:`fit`
        bracket: two different POI values (checked; hifit brackets the limits itself)
        poi_tolerance, maxsteps: accepted; the limits are found to 1e-6 relative
        confidence_level: confidence level of the limits
        poi_name: limit on this parameter (default: the model's POI)
        init_pars, fix_pars, par_bounds, strategy, maxiter, tolerance: as for
            :func:`fit`

    Returns:
        LimitResults; expected limits ordered -2σ, -1σ, median, +1σ, +2σ, and every
        hypothesis test evaluated, sorted by POI value

    Raises:
        ValueError: if there is no POI, or the two bracket values are equal
    """
    model = _poi_model(model, poi_name, "limit")
    poi = model.config.poi_index
    log.info(
        f"calculating {_cl_label(confidence_level)} confidence level upper limit "
        f"for {model.config.poi_name}"
    )
    if bracket is not None and bracket[0] == bracket[1]:
        raise ValueError(f"the two bracket values must not be the same: {bracket}")
    setup = _FitSetup(model, init_pars, fix_pars, par_bounds, maxiter, tolerance)
    if setup.bounds[poi][0] < 0:
        setup.bounds[poi] = (0.0, setup.bounds[poi][1])
        log.debug("setting lower parameter bound for POI to 0")
    result = infer.upper_limit(
        data,
        model,
        level=1 - confidence_level,
        init_pars=setup.init,
        par_bounds=setup.bounds,
        fixed_params=setup.fixed,
        convention="pyhf",  # cabinetry's, also for models from datacards
    )
    if not result.valid:
        log.error(f"limit calculation: {result.message}")
    if result.notes:
        log.warning(f"limit calculation: {result.notes}")
    points = result.points
    limits = LimitResults(
        float(result.observed),
        np.asarray(result.expected, dtype=float),
        np.asarray([p.CLs_obs for p in points], dtype=float),
        np.asarray([p.CLs_exp for p in points], dtype=float).reshape(-1, 5),
        np.asarray([p.mu for p in points], dtype=float),
        confidence_level,
    )
    _log_limits(limits)
    return limits


def _log_limits(limits: LimitResults) -> None:
    log.info(f"total of {len(limits.poi_values)} steps to calculate all limits")
    log.info(
        f"summary of {_cl_label(limits.confidence_level)} confidence level upper "
        "limits:"
    )
    labels = ["observed", "expected -2 sigma", "expected -1 sigma", "expected"]
    labels += ["expected +1 sigma", "expected +2 sigma"]
    values = [limits.observed_limit, *limits.expected_limit]
    for label, value in zip(labels, values, strict=True):
        log.info(f"{label.ljust(17)}: {value:.4f}")


def _log_p_value(kind: str, p_value: float, significance: float) -> None:
    shown = f"{p_value:.3%}" if p_value >= 1e-3 else f"{p_value:.3e}"
    log.info(f"{kind} p-value: {shown}")
    log.info(f"{kind} significance: {significance:.3f}")


def significance(
    model: Model,
    data: Sequence[float],
    *,
    poi_name: str | None = None,
    init_pars: Sequence[float] | None = None,
    fix_pars: Sequence[bool] | None = None,
    par_bounds: Bounds | None = None,
    strategy: Literal[0, 1, 2] | None = None,
    maxiter: int | None = None,
    tolerance: float | None = None,
) -> SignificanceResults:
    """Observed and expected discovery significance (asymptotic q0).

    The expected significance uses the Asimov data set at POI = 1 with the nuisance
    parameters profiled on data, as pyhf does.

    Raises:
        ValueError: if there is no POI
    """
    model = _poi_model(model, poi_name, "significance")
    log.info(f"calculating discovery significance for {model.config.poi_name}")
    setup = _FitSetup(model, init_pars, fix_pars, par_bounds, maxiter, tolerance)
    result = infer.significance(
        data, model, setup.init, setup.bounds, setup.fixed, convention="pyhf"
    )
    if not result.valid:
        log.error(f"significance calculation: {result.message}")
    _log_p_value("observed", result.observed_p_value, result.observed_significance)
    _log_p_value("expected", result.expected_p_value, result.expected_significance)
    return SignificanceResults(
        float(result.observed_p_value),
        float(result.observed_significance),
        float(result.expected_p_value),
        float(result.expected_significance),
    )
