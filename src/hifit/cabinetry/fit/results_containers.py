"""Result containers of the fit module: cabinetry's named tuples, field for field."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ... import results

__all__ = [
    "FitResults",
    "LimitResults",
    "RankingResults",
    "ScanResults",
    "SignificanceResults",
    "from_document",
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


def from_document(source: Any) -> Any:
    """The container for a result document (a ``hifit.*`` JSON file written by the
    CLI or ``hifit run``, or its dict); containers pass through unchanged."""
    if isinstance(source, tuple):  # already one of the named tuples
        return source
    doc = results.load(source)
    kind = results.kind_of(doc)
    if kind not in _FROM_DOCUMENT:
        msg = f"a {kind} result has no cabinetry container"
        raise results.InvalidResult(msg)
    return _FROM_DOCUMENT[kind](doc)


def _fit(doc: dict[str, Any]) -> FitResults:
    pars = doc["parameters"]
    minos = doc.get("minos", {})
    return FitResults(
        np.array([p["value"] for p in pars], dtype=float),
        np.array([p["uncertainty"] or 0.0 for p in pars], dtype=float),
        [p["name"] for p in pars],
        np.array(doc["correlation"], dtype=float),
        float(doc["twice_nll"]),
        float(doc.get("goodness_of_fit", {}).get("p_value", -1)),
        {name: tuple(ends) for name, ends in minos.items()},
    )


def _ranking(doc: dict[str, Any]) -> RankingResults:
    pars = doc["parameters"]

    def column(key: str) -> np.ndarray:
        return np.array([p[key] for p in pars], dtype=float)

    return RankingResults(
        column("value"),
        column("uncertainty"),
        [p["name"] for p in pars],
        column("prefit_up"),
        column("prefit_down"),
        column("postfit_up"),
        column("postfit_down"),
    )


def _scan(doc: dict[str, Any]) -> ScanResults:
    if "values_y" in doc:
        msg = "a 2D scan has no cabinetry container (ScanResults is 1D)"
        raise results.InvalidResult(msg)
    return ScanResults(
        doc["parameters"][0],
        float(doc["bestfit"][0]),
        float(doc["uncertainty"][0]),
        np.array(doc["values"], dtype=float),
        np.array(doc["delta_twice_nll"], dtype=float),
    )


def _limit(doc: dict[str, Any]) -> LimitResults:
    points = doc["scan"]
    return LimitResults(
        _number(doc["observed"]),
        np.array([_number(x) for x in doc["expected"]], dtype=float),
        np.array([p["CLs_obs"] for p in points], dtype=float),
        np.array([p["CLs_exp"] for p in points], dtype=float).reshape(-1, 5),
        np.array([p["mu"] for p in points], dtype=float),
        1.0 - float(doc["level"]),
    )


def _significance(doc: dict[str, Any]) -> SignificanceResults:
    return SignificanceResults(
        _number(doc["observed_p_value"]),
        _number(doc["observed_significance"]),
        _number(doc["expected_p_value"]),
        _number(doc["expected_significance"]),
    )


def _number(value: Any) -> float:
    """JSON null (a value that does not exist) as NaN."""
    return float("nan") if value is None else float(value)


_FROM_DOCUMENT = {
    "fit": _fit,
    "ranking": _ranking,
    "scan": _scan,
    "limit": _limit,
    "significance": _significance,
}
