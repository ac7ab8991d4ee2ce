"""Combine's methods (``-M``): each module has ``extra_outputs(options)`` (the files
it writes besides higgsCombine*.root, checked before any work) and ``run(setup) ->
MethodResult``."""

from __future__ import annotations

from types import ModuleType

from .. import impacts
from . import (
    asymptotic_limits,
    channel_compatibility,
    fit_diagnostics,
    goodness_of_fit,
    hybrid_new,
    multidimfit,
    significance,
)
from .result import MethodResult

METHODS: dict[str, ModuleType] = {
    "AsymptoticLimits": asymptotic_limits,
    "MultiDimFit": multidimfit,
    "Significance": significance,
    "Impacts": impacts,
    "FitDiagnostics": fit_diagnostics,
    "GoodnessOfFit": goodness_of_fit,
    "HybridNew": hybrid_new,
    "ChannelCompatibilityCheck": channel_compatibility,
}

__all__ = ["METHODS", "MethodResult"]
