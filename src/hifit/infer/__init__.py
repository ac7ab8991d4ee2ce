"""Inference: fits, CLs, limits, significance, scans, ranking, toys, grids."""

from . import toys
from ._pyhf_models import accepts_pyhf_model
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

# pyhf users pass pyhf Models: each function rebuilds them as hifit models.
fit = accepts_pyhf_model(fit)
fixed_poi_fit = accepts_pyhf_model(fixed_poi_fit)
hypotest = accepts_pyhf_model(hypotest)
upper_limit = accepts_pyhf_model(upper_limit)
significance = accepts_pyhf_model(significance)
ranking = accepts_pyhf_model(ranking)
goodness_of_fit = accepts_pyhf_model(goodness_of_fit)
prefit_uncertainties = accepts_pyhf_model(prefit_uncertainties)
scan = accepts_pyhf_model(scan)
minos = accepts_pyhf_model(minos)
grid = accepts_pyhf_model(grid)

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
