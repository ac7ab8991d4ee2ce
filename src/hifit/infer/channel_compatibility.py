"""Combine's ChannelCompatibilityCheck: one POI for all channels against one each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from ..model import Model
from .mle import FitResult, _result, fit_args


@dataclass(frozen=True)
class Interval:
    value: float
    lower: float  # negative offset
    upper: float
    valid: bool


@dataclass(frozen=True)
class ChannelCompatibility:
    nominal: FitResult
    alternate: FitResult
    nominal_interval: Interval | None
    alternate_intervals: dict[str, Interval]  # by alternate POI name
    chi2: float  # 2 (NLL(nominal) - NLL(alternate))
    valid: bool
    message: str


def channel_compatibility(
    data: Sequence[float] | np.ndarray,
    nominal: Model,
    alternate: Model,
    alternate_pois: Sequence[str],
    *,
    nominal_fit: tuple | None = None,
    alternate_fit: tuple | None = None,
    run_minos: bool = True,
) -> ChannelCompatibility:
    """``*_fit``: (init, bounds, fixed) of each model (None: its defaults)."""
    a = fit_args(nominal, *(nominal_fit or (None, None, None)))
    b = fit_args(alternate, *(alternate_fit or (None, None, None)))
    names = list(alternate.config.par_names)
    idx = [names.index(p) for p in alternate_pois]
    r = _core.channel_compatibility(
        nominal._model,
        alternate._model,
        np.asarray(data, dtype=float),
        *a,
        *b,
        alternate_pois=idx,
        run_minos=run_minos,
    )
    fixed_a = a[2] or [bool(f) for f in nominal.config.suggested_fixed()]
    fixed_b = b[2] or [bool(f) for f in alternate.config.suggested_fixed()]
    nom = _result(nominal, r.nominal, fixed_a)
    alt = _result(alternate, r.alternate, fixed_b)
    poi = nominal.config.poi_index

    def interval(m, value):
        return Interval(float(value), float(m.lower), float(m.upper), bool(m.valid))

    return ChannelCompatibility(
        nominal=nom,
        alternate=alt,
        nominal_interval=interval(r.nominal_interval, nom.bestfit[poi])
        if run_minos
        else None,
        alternate_intervals={
            p: interval(m, alt.bestfit[i])
            for p, i, m in zip(alternate_pois, idx, r.alternate_intervals, strict=False)
        },
        chi2=float(r.chi2),
        valid=bool(r.valid),
        message=r.message,
    )
