"""Result containers of the fit module: cabinetry's named tuples, field for field."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "FitResults",
    "LimitResults",
    "RankingResults",
    "ScanResults",
    "SignificanceResults",
]


class FitResults(NamedTuple):
    """Results of a maximum-likelihood fit.

    Args:
        bestfit: best-fit parameter values
        uncertainty: symmetric (Hessian) uncertainties, 0 for fixed parameters
        labels: parameter names
        corr_mat: correlation matrix; rows and columns of fixed parameters are 0,
            diagonal included
        best_twice_nll: -2 ln L at the best fit, with all normalisation constants
        goodness_of_fit: saturated-model p-value, -1 if not computed
        minos_uncertainty: ``{name: (lower < 0, upper > 0)}`` from MINOS
    """

    bestfit: np.ndarray
    uncertainty: np.ndarray
    labels: list[str]
    corr_mat: np.ndarray
    best_twice_nll: float
    goodness_of_fit: float = -1
    minos_uncertainty: dict[str, tuple[float, float]] = {}


class RankingResults(NamedTuple):
    """Impacts of the nuisance parameters on the POI (the POI itself left out).

    Args:
        bestfit: best-fit values of the parameters
        uncertainty: their post-fit uncertainties
        labels: their names
        prefit_up, prefit_down: POI shifts with the parameter fixed at best fit ±
            pre-fit uncertainty
        postfit_up, postfit_down: the same with the post-fit uncertainty
    """

    bestfit: np.ndarray
    uncertainty: np.ndarray
    labels: list[str]
    prefit_up: np.ndarray
    prefit_down: np.ndarray
    postfit_up: np.ndarray
    postfit_down: np.ndarray


class ScanResults(NamedTuple):
    """A profile-likelihood scan of one parameter.

    Args:
        name: parameter scanned
        bestfit: its value in the unconstrained fit
        uncertainty: its uncertainty in the unconstrained fit
        parameter_values: scanned values
        delta_nlls: -2 Δln L to the unconstrained fit at each value
    """

    name: str
    bestfit: float
    uncertainty: float
    parameter_values: np.ndarray
    delta_nlls: np.ndarray


class LimitResults(NamedTuple):
    """Observed and expected upper limits, and the CLs values they were found from.

    Args:
        observed_limit: observed limit
        expected_limit: expected limits at -2σ, -1σ, median, +1σ, +2σ
        observed_CLs: observed CLs at each POI value evaluated
        expected_CLs: expected CLs, shape (n, 5), columns as in ``expected_limit``
        poi_values: POI values evaluated, increasing
        confidence_level: confidence level of the limits
    """

    observed_limit: float
    expected_limit: np.ndarray
    observed_CLs: np.ndarray
    expected_CLs: np.ndarray
    poi_values: np.ndarray
    confidence_level: float


class SignificanceResults(NamedTuple):
    """Discovery p-values and significances, observed and expected (median)."""

    observed_p_value: float
    observed_significance: float
    expected_p_value: float
    expected_significance: float
