"""Pseudo-experiments: seeded, reproducible, spread over threads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _core
from ..model import Model
from ..results import document
from .mle import fit_args


@dataclass(frozen=True)
class ToyHypoTestResult:
    """Toy-based CLs with the test-statistic distributions behind it."""

    CLs_obs: float
    CLsb: float
    CLb: float
    CLs_exp: list[float]
    q_obs: float
    q_sb: np.ndarray
    q_b: np.ndarray
    failed_toys: int
    valid: bool
    message: str = ""
    #: Monte-Carlo error of CLs_obs from the toy counts (binomial errors of CLs+b and
    #: CLb propagated as Combine's HybridNew does); NaN where CLs does not exist
    CLs_obs_error: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The ``hifit.hypotest`` result document (toy-based)."""
        return document(
            "hypotest",
            {
                "calculator": "toys",
                "CLs_obs": self.CLs_obs,
                "CLs_obs_error": self.CLs_obs_error,
                "CLs_exp": self.CLs_exp,
                "CLsb": self.CLsb,
                "CLb": self.CLb,
                "ntoys": int(len(self.q_b)),
                "failed_toys": self.failed_toys,
                "valid": self.valid,
                "message": self.message,
            },
        )


def hypotest(
    poi_test: float,
    data: Sequence[float] | np.ndarray,
    model: Model,
    *,
    ntoys: int = 1000,
    seed: int = 0,
    jobs: int = 1,
    test_stat: str = "qtilde",
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
) -> ToyHypoTestResult:
    """CLs from ``ntoys`` signal+background and background-only pseudo-experiments."""
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    r = _core.hypotest_toys(
        model._model,
        np.asarray(data, dtype=float),
        float(poi_test),
        test_stat,
        int(ntoys),
        int(seed),
        int(jobs),
        *args,
    )
    return ToyHypoTestResult(
        CLs_obs=float(r.cls_obs),
        CLsb=float(r.clsb_obs),
        CLb=float(r.clb_obs),
        CLs_obs_error=float(r.cls_obs_err),
        CLs_exp=[float(x) for x in r.cls_exp],
        q_obs=float(r.q_obs),
        q_sb=np.array(r.q_sb),
        q_b=np.array(r.q_b),
        failed_toys=int(r.failed_toys),
        valid=bool(r.valid),
        message=r.message,
    )


def sample(
    model: Model, pars: Sequence[float], *, seed: int = 0, index: int = 0
) -> np.ndarray:
    """One pseudo-experiment (main ++ auxiliary data) around ``pars``."""
    return _core.sample_toy(
        model._model, [float(p) for p in pars], int(seed), int(index)
    )


def sample_prior(
    model: Model,
    pars: Sequence[float],
    data: Sequence[float],
    bounds: Sequence[tuple[float, float]],
    fixed: Sequence[bool],
    *,
    seed: int = 0,
    index: int = 0,
) -> np.ndarray:
    """One pseudo-experiment as Combine throws it without --toysFrequentist: the
    constrained parameters drawn from their constraints given the observed auxiliary
    data of ``data`` (within ``bounds``), Poisson main data at them, the auxiliary
    data kept as observed; ``fixed`` parameters are not drawn."""
    return _core.sample_toy_prior(
        model._model,
        [float(p) for p in pars],
        np.asarray(data, dtype=float),
        [tuple(map(float, b)) for b in bounds],
        [bool(f) for f in fixed],
        int(seed),
        int(index),
    )
