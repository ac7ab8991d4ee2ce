"""Impacts of nuisance parameters on the POI (ranking) and goodness of fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _core
from ..executor import Executor, map_on
from ..executor_checkpoint import CheckpointJob
from ..model import Model
from ..results import document
from .mle import FitResult, fit, fit_args

SHIFTS = ("prefit_up", "prefit_down", "postfit_up", "postfit_down")


@dataclass(frozen=True)
class RankingResult:
    """POI shifts when each parameter is fixed at its best fit ± pre-/post-fit σ.

    Sorted by the largest post-fit impact. ``cov_postfit`` is the linear estimate
    from the covariance matrix (no refits). A shifted value beyond the parameter's
    bounds (a staterror γ below 0) is clipped to the bound: ``clipped`` has one row
    per parameter, columns (prefit up, prefit down, postfit up, postfit down).
    """

    labels: list[str]
    bestfit: np.ndarray
    uncertainty: np.ndarray
    prefit_up: np.ndarray
    prefit_down: np.ndarray
    postfit_up: np.ndarray
    postfit_down: np.ndarray
    cov_prefit: np.ndarray
    cov_postfit: np.ndarray
    failed_fits: int
    valid: bool
    clipped: np.ndarray  # bool, shape (n, 4)
    refits: int = 0
    message: str = ""  # the refits that did not converge
    # the post-fit offsets applied: -/+ sigma, or the profile-likelihood crossings
    postfit_down_shift: np.ndarray | None = None
    postfit_up_shift: np.ndarray | None = None
    # keep_fits: every parameter's value in the post-fit refits, shape (n, npars)
    postfit_down_fit: np.ndarray | None = None
    postfit_up_fit: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``hifit.ranking`` result document, parameters by decreasing impact."""
        keys = ("prefit_up", "prefit_down", "postfit_up", "postfit_down", "cov_postfit")
        return document(
            "ranking",
            {
                "valid": self.valid,
                "refits": self.refits,
                "failed_fits": self.failed_fits,
                "message": self.message,
                "clipped_shifts": int(self.clipped.sum()),
                "parameters": [
                    {"name": n, "value": float(v), "uncertainty": float(u)}
                    | {k: float(getattr(self, k)[i]) for k in keys}
                    | {
                        "clipped": [
                            k for k, c in zip(SHIFTS, self.clipped[i], strict=True) if c
                        ]
                    }
                    for i, (n, v, u) in enumerate(
                        zip(self.labels, self.bestfit, self.uncertainty, strict=True)
                    )
                ],
            },
        )


def ranking(
    data: Sequence[float] | np.ndarray,
    model: Model,
    *,
    fit_result: FitResult | None = None,
    jobs: int = 1,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    prefit: bool = True,
    profile_delta: float = 0.0,
    keep_fits: bool = False,
    executor: Executor | None = None,
    checkpoint: CheckpointJob | None = None,
    progress: bool = False,
) -> RankingResult:
    """cabinetry's ranking (four refits per parameter), spread over ``jobs`` threads.

    Combine's impacts: ``prefit=False`` (no pre-fit shifts), ``profile_delta=1``
    (post-fit shifts at the parameter's profile-likelihood crossings instead of
    -/+ the Hesse sigma) and ``keep_fits`` (every parameter of the refits, for the
    impacts on other POIs).

    The parameters' refits run on ``executor`` (default: ``jobs`` threads); each
    parameter's numbers depend on it alone, so threads and Dask agree exactly.
    """
    best = fit_result or fit(data, model, init_pars, par_bounds, fixed_params)
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    inputs = _RankingInputs(
        model,
        np.asarray(data, dtype=float),
        args,
        best.core,
        prefit,
        profile_delta,
        keep_fits,
    )
    pars = list(_impacts(inputs, 0, 0).pars)  # the ranked parameters, no refit
    rows = map_on(
        executor,
        jobs,
        _ranking_chunk,
        range(len(pars)),
        shared=inputs,
        desc="ranking" if progress else None,
        checkpoint=checkpoint,
    )
    r = _Merged(rows, best.valid)
    post = np.maximum(np.abs(r.postfit_up), np.abs(r.postfit_down))
    order = np.argsort(-post, kind="stable")

    def col(values: Any) -> np.ndarray:
        return np.asarray(values, dtype=float)[order]

    return RankingResult(
        labels=[model.config.par_names[pars[i]] for i in order],
        bestfit=np.asarray(best.bestfit)[pars][order],
        uncertainty=np.asarray(best.uncertainty)[pars][order],
        prefit_up=col(r.prefit_up),
        prefit_down=col(r.prefit_down),
        postfit_up=col(r.postfit_up),
        postfit_down=col(r.postfit_down),
        cov_prefit=col(r.cov_prefit),
        cov_postfit=col(r.cov_postfit),
        failed_fits=int(r.failed_fits),
        valid=bool(r.valid and best.valid),
        clipped=np.column_stack(
            [
                np.asarray(getattr(r, f"{k}_clipped"), dtype=bool).reshape(-1)
                for k in SHIFTS
            ]
        ).reshape(-1, 4)[order],
        refits=int(r.refits),
        message=r.message if best.valid else f"free fit: {best.status}",
        postfit_down_shift=col(r.postfit_down_shift),
        postfit_up_shift=col(r.postfit_up_shift),
        postfit_down_fit=_fits(r.postfit_down_fit, order, model) if keep_fits else None,
        postfit_up_fit=_fits(r.postfit_up_fit, order, model) if keep_fits else None,
    )


@dataclass(frozen=True)
class _RankingInputs:
    """What every ranking task needs, shipped once per worker."""

    model: Model
    data: np.ndarray
    fit_args: tuple[Any, ...]
    best: Any  # the core FitResult
    prefit: bool
    profile_delta: float
    keep_fits: bool


def _impacts(inputs: _RankingInputs, begin: int, end: int) -> Any:
    return _core.impacts(
        inputs.model._model,
        inputs.data,
        *inputs.fit_args,
        1,
        inputs.best,
        prefit=inputs.prefit,
        profile_delta=inputs.profile_delta,
        keep_fits=inputs.keep_fits,
        begin=begin,
        end=end,
    )


_ROW = (
    "prefit_up prefit_down postfit_up postfit_down cov_prefit cov_postfit "
    "postfit_down_shift postfit_up_shift"
).split()


def _ranking_chunk(inputs: _RankingInputs, ks: list[int]) -> list[dict[str, Any]]:
    """The refits of ranked parameters ``ks``, one C++ call each (in C++, without the
    GIL), so each row holds that parameter's own counts and messages."""
    rows = []
    for k in ks:
        r = _impacts(inputs, k, k + 1)
        row: dict[str, Any] = {name: float(getattr(r, name)[k]) for name in _ROW}
        row["clipped"] = [bool(getattr(r, f"{s}_clipped")[k]) for s in SHIFTS]
        row["refits"] = int(r.refits)
        row["failed_fits"] = int(r.failed_fits)
        # the refits' failures (a failed free fit is reported by the caller)
        row["message"] = r.message if inputs.best.valid else ""
        if inputs.keep_fits:
            row["fits"] = [list(r.postfit_down_fit[k]), list(r.postfit_up_fit[k])]
        rows.append(row)
    return rows


@dataclass(frozen=True)
class _Merged:
    """The rows of every ranked parameter as one result (the fields of the core's)."""

    rows: list[dict[str, Any]]
    best_valid: bool

    def __getattr__(self, name: str) -> Any:
        if name in _ROW:
            return [row[name] for row in self.rows]
        if name.endswith("_clipped"):
            j = SHIFTS.index(name.removesuffix("_clipped"))
            return [row["clipped"][j] for row in self.rows]
        if name in ("postfit_down_fit", "postfit_up_fit"):
            j = 0 if name == "postfit_down_fit" else 1
            return [row["fits"][j] for row in self.rows]
        raise AttributeError(name)

    @property
    def refits(self) -> int:
        return sum(row["refits"] for row in self.rows)

    @property
    def failed_fits(self) -> int:
        return sum(row["failed_fits"] for row in self.rows)

    @property
    def valid(self) -> bool:
        return self.best_valid and self.failed_fits == 0

    @property
    def message(self) -> str:
        return "; ".join(row["message"] for row in self.rows if row["message"])


def _fits(rows: Any, order: np.ndarray, model: Model) -> np.ndarray:
    """Refit parameter vectors as an (n, npars) array; NaN rows where no fit ran."""
    out = np.full((len(order), model.config.npars), np.nan)
    for k, i in enumerate(order):
        if len(rows[i]):
            out[k] = rows[i]
    return out


@dataclass(frozen=True)
class GoodnessOfFit:
    """Saturated-model test: -2 ln(L_best/L_sat), its degrees of freedom, p-value."""

    twice_delta_nll: float
    ndof: float
    p_value: float


def goodness_of_fit(
    data: Sequence[float] | np.ndarray, model: Model, fit_result: FitResult
) -> GoodnessOfFit:
    r = _core.goodness_of_fit(
        model._model,
        np.asarray(data, dtype=float),
        fit_result.core,
        list(fit_result.fixed),
    )
    return GoodnessOfFit(float(r.twice_delta_nll), float(r.ndof), float(r.p_value))


def prefit_uncertainties(model: Model) -> np.ndarray:
    """Constraint widths (0 for unconstrained and fixed parameters), as cabinetry."""
    return np.array(_core.prefit_uncertainties(model._model))
