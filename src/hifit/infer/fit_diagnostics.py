"""Combine's FitDiagnostics: s+b and b-only fits, pre/post-fit yields with errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from ..model import Model
from .mle import FitResult, _result, fit_args


@dataclass(frozen=True)
class ChannelYields:
    """One channel at one parameter point: per-process and summed yields, errors."""

    processes: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (yields, errors)
    total: tuple[np.ndarray, np.ndarray]
    signal: tuple[np.ndarray, np.ndarray]
    background: tuple[np.ndarray, np.ndarray]
    total_covariance: np.ndarray  # nbins x nbins
    norms: dict[str, tuple[float, float]]  # process or total* -> (yield, error)


@dataclass(frozen=True)
class FitDiagnostics:
    fit_s: FitResult
    fit_b: FitResult
    poi_lower: float  # MINOS offsets of the POI in fit_s (lower negative)
    poi_upper: float
    prefit: np.ndarray
    prefit_err: np.ndarray
    yields: dict[str, dict[str, ChannelYields]]  # "prefit"/"fit_b"/"fit_s" -> channel
    aux_of: list[int]  # per parameter: index of its auxiliary datum, -1 if none
    valid: bool
    message: str


def _channels(model: Model, ys, present: list[bool]) -> dict[str, ChannelYields]:
    channels, samples = model.channels, model.samples
    nbins, nmain, nc = model.channel_nbins, model.nmaindata, len(model.channels)
    y = np.array(ys.yields).reshape(len(samples), nmain)
    e = np.array(ys.errors).reshape(len(samples), nmain)
    norms = np.array(ys.norms).reshape(len(samples), nc)
    norm_err = np.array(ys.norm_errors).reshape(len(samples), nc)
    cov = np.array(ys.total_covariance)
    sums = np.array(ys.channel_sums).reshape(3, nc)
    sum_err = np.array(ys.channel_sum_errors).reshape(3, nc)
    names = ("total", "total_signal", "total_background")
    out, offset, cov_offset = {}, 0, 0
    for c, ch in enumerate(channels):
        n = nbins[ch]
        sl = slice(offset, offset + n)
        keep = [s for s in range(len(samples)) if present[s * nc + c]]
        out[ch] = ChannelYields(
            processes={samples[s]: (y[s, sl], e[s, sl]) for s in keep},
            total=(np.array(ys.total)[sl], np.array(ys.total_err)[sl]),
            signal=(np.array(ys.signal)[sl], np.array(ys.signal_err)[sl]),
            background=(np.array(ys.background)[sl], np.array(ys.background_err)[sl]),
            total_covariance=cov[cov_offset : cov_offset + n * n].reshape(n, n),
            norms={
                **{
                    samples[s]: (float(norms[s, c]), float(norm_err[s, c]))
                    for s in keep
                },
                **{
                    n: (float(sums[k, c]), float(sum_err[k, c]))
                    for k, n in enumerate(names)
                },
            },
        )
        offset += n
        cov_offset += n * n
    return out


def fit_diagnostics(
    data: Sequence[float] | np.ndarray,
    model: Model,
    signal_processes: Sequence[str],
    *,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    run_minos: bool = True,
    minos_delta: float = 1.0,
) -> FitDiagnostics:
    """Fits and yields; ``signal_processes`` name the samples in total_signal."""
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    signal = [s in set(signal_processes) for s in model.config.samples]
    r = _core.fit_diagnostics(
        model._model,
        np.asarray(data, dtype=float),
        signal,
        *args,
        run_minos,
        minos_delta,
    )
    fixed = args[2] or [bool(f) for f in model.config.suggested_fixed()]
    fixed_b = list(fixed)
    fixed_b[model.config.poi_index] = True
    present = list(r.present)
    return FitDiagnostics(
        fit_s=_result(model, r.fit_s, fixed),
        fit_b=_result(model, r.fit_b, fixed_b),
        poi_lower=float(r.poi_interval.lower),
        poi_upper=float(r.poi_interval.upper),
        prefit=np.array(r.prefit),
        prefit_err=np.array(r.prefit_err),
        yields={
            "prefit": _channels(model.config, r.yields_prefit, present),
            "fit_b": _channels(model.config, r.yields_fit_b, present),
            "fit_s": _channels(model.config, r.yields_fit_s, present),
        },
        aux_of=[int(a) for a in r.aux_of],
        valid=bool(r.valid),
        message=r.message,
    )
