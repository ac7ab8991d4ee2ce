"""Maximum-likelihood fits, run by the C++ minimizer without the GIL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from ..exceptions import InvalidArgument
from ..model import Model
from ..results import document


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class FitResult:
    """Result of a maximum-likelihood fit of -2 ln L.

    ``valid`` is False when the minimizer did not converge or the Hessian of the free
    parameters at the minimum is not positive definite; ``status`` says which. A
    minimum on the boundary is valid: parameters pinned at a bound are flagged in
    ``at_bound`` (their uncertainty is the one-sided width towards the inside, see
    the C++ ``FitResult``), parameters the likelihood does not depend on in
    ``no_effect`` (uncertainty 0).

    ``cov_mat`` and ``corr_mat`` cover the parameters named in ``cov_labels``: all of
    them, except for fits of models with more than 4096 parameters of which many
    are per-bin (staterror, shapesys), fitted in blocks: there they cover the global
    parameters only, and each per-bin parameter has just its uncertainty.
    """

    bestfit: np.ndarray
    uncertainty: np.ndarray
    labels: list[str]
    corr_mat: np.ndarray
    cov_mat: np.ndarray
    twice_nll: float
    valid: bool
    status: str
    edm: float
    iterations: int
    evaluations: int
    wall_time: float
    fixed: list[bool] = field(default_factory=list)
    at_bound: list[bool] = field(default_factory=list)
    no_effect: list[bool] = field(default_factory=list)
    poi: str | None = None  # the model's parameter of interest
    cov_labels: list[str] | None = None  # None: the same as labels
    core: Any = field(default=None, repr=False, compare=False)  # the C++ result

    def to_dict(self) -> dict[str, Any]:
        """The ``hifit.fit`` result document."""
        return document(
            "fit",
            {
                "parameters": [
                    {
                        "name": n,
                        "value": float(v),
                        "uncertainty": float(u),
                        "fixed": f,
                        "at_bound": b,
                        "no_effect": e,
                    }
                    for n, v, u, f, b, e in zip(
                        self.labels,
                        self.bestfit,
                        self.uncertainty,
                        self.fixed,
                        self.at_bound,
                        self.no_effect,
                        strict=True,
                    )
                ],
                "poi": self.poi,
                "twice_nll": self.twice_nll,
                "valid": self.valid,
                "status": self.status,
                "edm": self.edm,
                "iterations": self.iterations,
                "wall_time": self.wall_time,
                "correlation": self.corr_mat.tolist(),
                # only when the correlation covers the global parameters alone
                **(
                    {"correlation_parameters": self.cov_labels}
                    if self.cov_labels is not None
                    else {}
                ),
            },
        )


def fit_args(
    model: Model,
    init_pars: Sequence[float] | None,
    par_bounds: Sequence[tuple[float, float]] | None,
    fixed_params: Sequence[bool] | None,
) -> tuple[list[float], list[tuple[float, float]], list[bool]]:
    """Init, bounds and fixed flags as the core takes them (empty: model defaults)."""
    init = [] if init_pars is None else [float(x) for x in init_pars]
    bounds = (
        [] if par_bounds is None else [(float(lo), float(hi)) for lo, hi in par_bounds]
    )
    fixed = [] if fixed_params is None else [bool(f) for f in fixed_params]
    return init, bounds, fixed


def fit(
    data: Sequence[float] | np.ndarray,
    model: Model,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    *,
    max_iterations: int = 500,
    edm_tolerance: float = 1e-9,
    hessian: str = "auto",
) -> FitResult:
    """Minimize -2 ln L; arguments default to the model's suggested values (as pyhf).

    ``hessian``: "dense", "block" (per-bin parameters in blocks, memory linear in the
    number of bins) or "auto" (blocks from 256 per-bin parameters on).
    """
    config = model.config
    init = list(config.suggested_init() if init_pars is None else init_pars)
    bounds = [tuple(map(float, b)) for b in (par_bounds or config.suggested_bounds())]
    fixed = [
        bool(f)
        for f in (config.suggested_fixed() if fixed_params is None else fixed_params)
    ]
    for name, x, (lo, hi), f in zip(
        config.par_names, init, bounds, fixed, strict=False
    ):
        if not f and not lo <= x <= hi:
            msg = f"initial value {x} of {name!r} lies outside its bounds [{lo}, {hi}]"
            raise InvalidArgument(msg)
    likelihood = model.likelihood(data)
    res = _core.fit(
        likelihood,
        [float(x) for x in init],
        bounds,
        fixed,
        max_iterations,
        edm_tolerance,
        hessian,
    )
    return _result(model, res, fixed)


def _result(model: Model, res: Any, fixed: list[bool]) -> FitResult:
    return FitResult(
        bestfit=_readonly(res.bestfit),
        uncertainty=_readonly(res.uncertainty),
        labels=model.config.par_names,
        corr_mat=_readonly(res.correlation),
        cov_mat=_readonly(res.covariance),
        twice_nll=float(res.twice_nll),
        valid=bool(res.valid),
        status=res.status,
        edm=float(res.edm),
        iterations=int(res.iterations),
        evaluations=int(res.evaluations),
        wall_time=float(res.wall_time),
        fixed=fixed,
        at_bound=list(res.at_bound),
        no_effect=list(res.no_effect),
        poi=model.config.poi_name if model.config.poi_index is not None else None,
        cov_labels=[model.config.par_names[i] for i in res.covariance_params] or None,
        core=res,
    )


def fixed_poi_fit(
    poi_val: float,
    data: Sequence[float] | np.ndarray,
    model: Model,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    *,
    free_fit: FitResult | None = None,
    max_iterations: int = 500,
    edm_tolerance: float = 1e-9,
) -> FitResult:
    """Fit with the parameter of interest fixed at ``poi_val``.

    Started from ``init_pars``, from the unconditional fit (``free_fit``, fitted here if
    not given) and from it followed to ``poi_val`` by continuation, and from the
    model's suggested values: the lowest minimum is kept, so that the result agrees
    with a profile scan where the likelihood has several minima.
    """
    poi = model.config.poi_index
    if poi is None:
        msg = "fixed_poi_fit needs a model with a parameter of interest"
        raise InvalidArgument(msg)
    init = list(model.config.suggested_init() if init_pars is None else init_pars)
    fixed = list(
        model.config.suggested_fixed() if fixed_params is None else fixed_params
    )
    init[poi] = float(poi_val)
    fixed[poi] = True
    args = fit_args(model, init, par_bounds, fixed)
    res = _core.profile_fit(
        model._model,
        np.asarray(data, dtype=float),
        poi,
        float(poi_val),
        *args,
        max_iterations,
        edm_tolerance,
        None if free_fit is None else free_fit.core,
    )
    return _result(model, res, [bool(f) for f in fixed])
