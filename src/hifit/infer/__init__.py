"""Inference: fits, CLs, limits, significance, scans, ranking, toys, grids."""

from . import toys
from .grid import GridPoint, grid
from .hypotest import (
    AsymptoticCalculator,
    HypoTestResult,
    SignificanceResult,
    UpperLimitResult,
    hypotest,
    significance,
    upper_limit,
)
from .mle import FitResult, fit, fixed_poi_fit
from .ranking import (
    GoodnessOfFit,
    RankingResult,
    goodness_of_fit,
    prefit_uncertainties,
    ranking,
)
from .scans import MinosInterval, ScanResult, minos, scan

__all__ = [
    "AsymptoticCalculator",
    "FitResult",
    "GoodnessOfFit",
    "GridPoint",
    "HypoTestResult",
    "MinosInterval",
    "RankingResult",
    "ScanResult",
    "SignificanceResult",
    "UpperLimitResult",
    "fit",
    "fixed_poi_fit",
    "goodness_of_fit",
    "grid",
    "hypotest",
    "minos",
    "prefit_uncertainties",
    "ranking",
    "scan",
    "significance",
    "toys",
    "upper_limit",
]
