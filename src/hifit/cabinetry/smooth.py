"""Histogram smoothing, as ``cabinetry.smooth``: the "353QH, twice" algorithm.

The arithmetic is the C++ engine's (``hifit._core``); these functions only convert
arrays. ``templates.postprocess`` smooths systematic variations with
:func:`smooth_variation_353qh_twice`.
"""

from __future__ import annotations

import logging
from typing import TypeVar

import numpy as np

from .. import _core

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

T = TypeVar("T", list[float], np.ndarray)

__all__ = ["smooth_353qh_twice", "smooth_variation_353qh_twice"]


def smooth_353qh_twice(hist: T) -> T:
    """Runs the 353QH algorithm twice and returns a smooth version of the input.

    ROOT's ``TH1::Smooth`` algorithm (Friedman, CERN 1974 proceedings, p. 292): running
    medians of 3, 5 and 3 entries, quadratic interpolation of flat segments, running
    means, then the same on the residuals, added back. The result is clipped at 0 only
    if the input has no negative entry. Like cabinetry, a list gives a list, an array a
    float array, and fewer than three entries are returned unchanged with a warning.
    """
    if len(hist) < 3:
        log.warning("at least three points needed for smoothing, no smoothing applied")
        return hist
    smooth = _core.smooth_353qh_twice(np.ascontiguousarray(hist, dtype=float))
    return smooth.tolist() if isinstance(hist, list) else smooth


def smooth_variation_353qh_twice(
    variation: np.ndarray, nominal: np.ndarray, label: str
) -> np.ndarray:
    """Smooths variation/nominal and keeps the variation's integral, as cabinetry's
    template post-processing does (``label`` names the template in the log)."""
    log.debug("applying smoothing to %s", label)
    if len(variation) < 3:
        log.warning("at least three points needed for smoothing, no smoothing applied")
    return _core.smooth_variation_353qh_twice(
        np.ascontiguousarray(variation, dtype=float),
        np.ascontiguousarray(nominal, dtype=float),
    )
