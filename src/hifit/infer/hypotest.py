"""Hypothesis tests, upper limits and discovery significance (asymptotic formulae).

``convention`` picks whose conventions apply where pyhf and Combine differ: ``"auto"``
(Combine's for models built from datacards, pyhf's otherwise), ``"pyhf"`` or
``"combine"``. They differ in the expected bands (pyhf: -2σ … +2σ of the
background-only test statistic; Combine's AsymptoticLimits: its 2.5/16/50/84/97.5 %
quantiles) and in the Asimov data of the expected significance (``expected``:
``"postfit"``, nuisances fitted to data at POI = 1 as in pyhf and Combine's
``--toysFrequentist``; ``"prefit"``, nuisances at their initial values as in Combine's
``-t -1 --expectSignal 1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import _core
from ..executor import Executor
from ..executor_checkpoint import CheckpointJob
from ..model import Model
from ..results import document
from .limit_scan import limit_scan
from .mle import fit_args

Convention = Literal["auto", "pyhf", "combine"]
ExpectedAsimov = Literal["auto", "prefit", "postfit"]


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
    convention: str = "pyhf"

    def to_dict(self) -> dict[str, Any]:
        """The ``hifit.hypotest`` result document."""
        return document("hypotest", self.fields())

    def fields(self) -> dict[str, Any]:
        return {
            "mu": self.mu,
            "CLs_obs": self.CLs_obs,
            "CLs_exp": list(self.CLs_exp),
            "CLsb": self.CLsb,
            "CLb": self.CLb,
            "convention": self.convention,
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
        convention=r.convention,
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
        convention: Convention = "auto",
        asimov: str = "postfit",
    ) -> None:
        args = fit_args(model, init_pars, par_bounds, fixed_params)
        self.model = model
        self._calc = _core.AsymptoticCalculator(
            model._model,
            np.asarray(data, dtype=float),
            test_stat,
            *args,
            convention,
            asimov,
        )

    @property
    def convention(self) -> str:
        """The convention in use, ``"pyhf"`` or ``"combine"``."""
        return str(self._calc.convention)

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
    convention: Convention = "auto",
) -> HypoTestResult:
    """Asymptotic CLs of the hypothesis POI = ``poi_test`` (pyhf's ``hypotest``)."""
    calc = AsymptoticCalculator(
        data,
        model,
        test_stat=test_stat,
        init_pars=init_pars,
        par_bounds=par_bounds,
        fixed_params=fixed_params,
        convention=convention,
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
    convention: str = "pyhf"
    notes: str = ""  # limits that do not exist (NaN) or lie beyond the POI bound
    observed_err: float = 0.0  # root search: half-width of its last bracket

    def to_dict(self) -> dict[str, Any]:
        return document(
            "limit",
            {
                "observed": self.observed,
                "expected": list(self.expected),
                "level": self.level,
                "convention": self.convention,
                "valid": self.valid,
                "message": self.message,
                "notes": self.notes,
                "scan": [p.fields() for p in self.points],
            },
        )


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
    convention: Convention = "auto",
    asimov: str = "postfit",
    jobs: int = 1,
    executor: Executor | None = None,
    checkpoint: CheckpointJob | None = None,
    progress: bool = False,
) -> UpperLimitResult:
    """Upper limits at CLs = ``level``: root finding, or interpolation on ``scan``.

    A scan runs in fixed segments of the sorted POI values on ``executor`` (default:
    ``jobs`` threads; ``checkpoint`` keeps finished segments for a resumed run); warm
    starts stay inside a segment, so the numbers do not depend on where a segment
    ran. Root finding is sequential by nature and runs in this process.

    Expected limits solve the profile crossing of the Asimov likelihood exactly (the
    equation Combine's AsymptoticLimits solves to 0.5 %); their quantiles follow
    ``convention``. ``asimov="prefit"``: the Asimov data set at the initial values
    (Combine's --noFitAsimov) instead of the fit to data.
    """
    if scan is None:
        calc = AsymptoticCalculator(
            data,
            model,
            test_stat=test_stat,
            init_pars=init_pars,
            par_bounds=par_bounds,
            fixed_params=fixed_params,
            convention=convention,
            asimov=asimov,
        )
        r = _core.upper_limit(calc._calc, level, rtol)
    else:
        r = limit_scan(
            model,
            np.asarray(data, dtype=float),
            scan,
            level,
            test_stat=test_stat,
            fit_args=fit_args(model, init_pars, par_bounds, fixed_params),
            convention=convention,
            asimov=asimov,
            jobs=jobs,
            executor=executor,
            checkpoint=checkpoint,
            progress=progress,
        )
    return UpperLimitResult(
        observed=float(r.observed),
        expected=[float(x) for x in r.expected],
        level=level,
        points=[_hypotest_result(p) for p in r.points],
        valid=bool(r.valid),
        message=r.message,
        convention=str(r.convention),
        notes=r.notes,
        observed_err=float(r.observed_err),
    )


@dataclass(frozen=True)
class SignificanceResult:
    """Discovery p-values and significances: Z = √q0, p = 1 - Φ(Z); expected from the
    Asimov data at POI = 1 (``expected``: ``"prefit"`` or ``"postfit"``)."""

    observed_p_value: float
    observed_significance: float
    expected_p_value: float
    expected_significance: float
    valid: bool
    message: str = ""
    convention: str = "pyhf"
    expected: str = "postfit"

    def to_dict(self) -> dict[str, Any]:
        """The ``hifit.significance`` result document."""
        return document("significance", dict(self.__dict__))


def significance(
    data: Sequence[float] | np.ndarray,
    model: Model,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    *,
    convention: Convention = "auto",
    expected: ExpectedAsimov = "auto",
) -> SignificanceResult:
    """Discovery significance of the observed data and the expected one.

    ``expected="auto"`` takes the convention's Asimov data: pre-fit for Combine (its
    ``-t -1 --expectSignal 1``), post-fit for pyhf (and Combine's
    ``--toysFrequentist``).
    """
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    r = _core.significance(
        model._model, np.asarray(data, dtype=float), *args, convention, expected
    )
    return SignificanceResult(
        observed_p_value=float(r.observed_p),
        observed_significance=float(r.observed_z),
        expected_p_value=float(r.expected_p),
        expected_significance=float(r.expected_z),
        valid=bool(r.valid),
        message=r.message,
        convention=r.convention,
        expected=r.expected,
    )
