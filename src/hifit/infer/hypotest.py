"""Hypothesis tests, upper limits and discovery significance (asymptotic formulae)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from .._model import Model
from .mle import fit_args


@dataclass(frozen=True)
class HypoTestResult:
    """CLs at one POI value; ``CLs_exp`` in pyhf's order (smallest CLs first)."""

    mu: float
    CLs_obs: float
    CLsb: float
    CLb: float
    CLs_exp: list[float]
    q_obs: float
    q_asimov: float
    valid: bool
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "mu": self.mu,
            "CLs_obs": self.CLs_obs,
            "CLs_exp": list(self.CLs_exp),
            "CLsb": self.CLsb,
            "CLb": self.CLb,
            "valid": self.valid,
            "message": self.message,
        }


def _hypotest_result(r: Any) -> HypoTestResult:
    return HypoTestResult(
        mu=float(r.mu),
        CLs_obs=float(r.cls_obs),
        CLsb=float(r.clsb_obs),
        CLb=float(r.clb_obs),
        CLs_exp=[float(x) for x in r.cls_exp],
        q_obs=float(r.q_obs),
        q_asimov=float(r.q_asimov),
        valid=bool(r.valid),
        message=r.message,
    )


class AsymptoticCalculator:
    """pyhf's asymptotic calculator; fits that do not depend on mu are done once."""

    def __init__(
        self,
        data: Sequence[float] | np.ndarray,
        model: Model,
        *,
        test_stat: str = "qtilde",
        init_pars: Sequence[float] | None = None,
        par_bounds: Sequence[tuple[float, float]] | None = None,
        fixed_params: Sequence[bool] | None = None,
    ) -> None:
        args = fit_args(model, init_pars, par_bounds, fixed_params)
        self.model = model
        self._calc = _core.AsymptoticCalculator(
            model._model, np.asarray(data, dtype=float), test_stat, *args
        )

    def hypotest(self, mu: float) -> HypoTestResult:
        return _hypotest_result(self._calc.hypotest(float(mu)))

    @property
    def asimov_data(self) -> np.ndarray:
        return np.array(self._calc.asimov_data)


def hypotest(
    poi_test: float,
    data: Sequence[float] | np.ndarray,
    model: Model,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    *,
    test_stat: str = "qtilde",
) -> HypoTestResult:
    """Asymptotic CLs of the hypothesis POI = ``poi_test`` (pyhf's ``hypotest``)."""
    calc = AsymptoticCalculator(
        data,
        model,
        test_stat=test_stat,
        init_pars=init_pars,
        par_bounds=par_bounds,
        fixed_params=fixed_params,
    )
    return calc.hypotest(poi_test)


@dataclass(frozen=True)
class UpperLimitResult:
    """Observed and expected upper limits (expected in CLs_exp order: -2σ … +2σ)."""

    observed: float
    expected: list[float]
    level: float
    points: list[HypoTestResult] = field(default_factory=list)
    valid: bool = True
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "observed": self.observed,
            "expected": list(self.expected),
            "level": self.level,
            "valid": self.valid,
            "message": self.message,
            "scan": [p.to_dict() for p in self.points],
        }


def upper_limit(
    data: Sequence[float] | np.ndarray,
    model: Model,
    scan: Sequence[float] | None = None,
    level: float = 0.05,
    *,
    test_stat: str = "qtilde",
    rtol: float = 1e-6,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
) -> UpperLimitResult:
    """Upper limits at CLs = ``level``: root finding, or interpolation on ``scan``."""
    calc = AsymptoticCalculator(
        data,
        model,
        test_stat=test_stat,
        init_pars=init_pars,
        par_bounds=par_bounds,
        fixed_params=fixed_params,
    )
    if scan is None:
        r = _core.upper_limit(calc._calc, level, rtol)
    else:
        r = _core.upper_limit_scan(calc._calc, [float(x) for x in scan], level)
    return UpperLimitResult(
        observed=float(r.observed),
        expected=[float(x) for x in r.expected],
        level=level,
        points=[_hypotest_result(p) for p in r.points],
        valid=bool(r.valid),
        message=r.message,
    )


@dataclass(frozen=True)
class SignificanceResult:
    """Discovery p-values and significances (q0; expected from Asimov at mu = 1)."""

    observed_p_value: float
    observed_significance: float
    expected_p_value: float
    expected_significance: float
    valid: bool
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def significance(
    data: Sequence[float] | np.ndarray,
    model: Model,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
) -> SignificanceResult:
    """Discovery significance of the observed data and the expected one."""
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    r = _core.significance(model._model, np.asarray(data, dtype=float), *args)
    return SignificanceResult(
        observed_p_value=float(r.observed_p),
        observed_significance=float(r.observed_z),
        expected_p_value=float(r.expected_p),
        expected_significance=float(r.expected_z),
        valid=bool(r.valid),
        message=r.message,
    )
