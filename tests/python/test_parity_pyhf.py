"""hifit against pyhf 0.7.6 on every pyhf workspace in the shared data.

Cases (see ``pyhf_reference.discover_cases``): every JSON file under
``../shared/data/pyhf`` that is a workspace, background-only ones as POI-less
models, plus the sbottom signal patches, two 1Lbb patchset points and the
pyhf example patchset. The only JSON model spec there
(``pyhf-tests/test_modifiers/spec.json``) has no observations, so it has no
data to compare and is not a case.

Per case:

1. model structure: parameter names, POI, suggested init/bounds/fixed,
   auxdata and the data vector equal pyhf's (numbers to 1e-12 relative, which
   allows last-ulp differences in derived values such as shapesys tau);
2. twice_nll at pyhf's suggested init to 1e-9 relative;
3. MLE with default settings: each best-fit value within
   max(1e-2 * sigma_pyhf, 1e-4) of pyhf's, uncertainties within 2 %, and the
   minimum twice_nll at most pyhf's + 1e-6.

The pyhf minimum is the lower of pyhf's SLSQP fit and pyhf's Minuit
(strategy 2, tolerance 1e-4) warm-started from it. sigma_pyhf comes from the
Hessian of pyhf's twice_nll at that minimum (central differences), not from
Minuit's HESSE, which is not reproducible to 2 % on these models; see
``pyhf_reference._uncertainties``.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyhf_reference import discover_cases

CASES = discover_cases()
pytestmark = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])

STRUCTURE_RTOL = 1e-12
TWICE_NLL_RTOL = 1e-9
BESTFIT_SIGMA_FRACTION = 1e-2
BESTFIT_ATOL = 1e-4
UNCERTAINTY_RTOL = 0.02
MINIMUM_SLACK = 1e-6
# At a minimum on a bound the gradient does not vanish, so a curvature-based
# error there is no Gaussian width, and Minuit-style sin transforms shrink it
# towards 0. Parameters whose pyhf best fit is within this distance of a bound
# are left out of the uncertainty comparison (their best fits are compared).
BOUND_MARGIN = 1e-3


def _mismatches(names, got, want, tol, mask=None) -> str:
    """One line per parameter outside its tolerance, for assertion messages."""
    bad = np.abs(got - want) > tol
    if mask is not None:
        bad &= mask
    rows = [
        f"  {names[i]}: hifit {got[i]!r} pyhf {want[i]!r} tol {tol[i]:.3g}"
        for i in np.flatnonzero(bad)
    ]
    return "\n".join(rows)


def _near_bound(ref) -> np.ndarray:
    lo, hi = ref.bounds.T
    return np.minimum(ref.bestfit - lo, hi - ref.bestfit) < BOUND_MARGIN


# ---------------------------------------------------------------- structure


def test_parameter_names_match_pyhf(pyhf_ref, hifit_model_data):
    model, _ = hifit_model_data
    assert list(model.config.par_names) == pyhf_ref.par_names
    assert model.config.npars == len(pyhf_ref.par_names)


def test_poi_matches_pyhf(pyhf_ref, hifit_model_data):
    model, _ = hifit_model_data
    assert model.config.poi_name == pyhf_ref.poi_name
    assert model.config.poi_index == pyhf_ref.poi_index


def test_suggested_init_bounds_fixed_match_pyhf(pyhf_ref, hifit_model_data):
    config = hifit_model_data[0].config
    np.testing.assert_allclose(
        np.asarray(config.suggested_init(), dtype=float),
        pyhf_ref.init,
        rtol=STRUCTURE_RTOL,
        atol=0,
    )
    np.testing.assert_allclose(
        np.asarray(config.suggested_bounds(), dtype=float).reshape(-1, 2),
        pyhf_ref.bounds,
        rtol=STRUCTURE_RTOL,
        atol=0,
    )
    assert [bool(f) for f in config.suggested_fixed()] == pyhf_ref.fixed.tolist()


def test_auxdata_matches_pyhf(pyhf_ref, hifit_model_data):
    model, _ = hifit_model_data
    np.testing.assert_allclose(
        np.asarray(model.config.auxdata, dtype=float),
        pyhf_ref.auxdata,
        rtol=STRUCTURE_RTOL,
        atol=0,
    )


def test_data_vector_matches_pyhf(pyhf_ref, hifit_model_data):
    _, data = hifit_model_data
    np.testing.assert_allclose(data, pyhf_ref.data, rtol=STRUCTURE_RTOL, atol=0)


# --------------------------------------------------------------- likelihood


def test_twice_nll_at_init_matches_pyhf(pyhf_ref, hifit_model_data):
    # pyhf's own init and data: this isolates the likelihood from the
    # structure checks above.
    model, _ = hifit_model_data
    twice_nll = model.twice_nll(pyhf_ref.init, pyhf_ref.data)
    assert twice_nll == pytest.approx(pyhf_ref.twice_nll_init, rel=TWICE_NLL_RTOL)


def test_logpdf_at_init_matches_pyhf(pyhf_ref, hifit_model_data):
    model, _ = hifit_model_data
    logpdf = np.asarray(model.logpdf(pyhf_ref.init, pyhf_ref.data))
    assert logpdf.shape == (1,)
    expected = -0.5 * pyhf_ref.twice_nll_init
    assert logpdf[0] == pytest.approx(expected, rel=TWICE_NLL_RTOL)


# ---------------------------------------------------------------------- MLE


def test_mle_reports_success(hifit_mle, pyhf_ref):
    assert hifit_mle.valid, hifit_mle.status
    assert list(hifit_mle.labels) == pyhf_ref.par_names


def test_mle_minimum_not_worse_than_pyhf(hifit_mle, pyhf_ref):
    assert hifit_mle.twice_nll <= pyhf_ref.twice_nll_min + MINIMUM_SLACK, (
        f"hifit {hifit_mle.twice_nll!r} vs pyhf {pyhf_ref.twice_nll_min!r} "
        f"(pyhf route {pyhf_ref.route}, all pyhf minima {pyhf_ref.minima})"
    )


def test_mle_bestfit_matches_pyhf(hifit_mle, pyhf_ref):
    got = np.asarray(hifit_mle.bestfit, dtype=float)
    tol = np.maximum(BESTFIT_SIGMA_FRACTION * pyhf_ref.uncertainty, BESTFIT_ATOL)
    report = _mismatches(pyhf_ref.par_names, got, pyhf_ref.bestfit, tol)
    assert not report, (
        f"best fit differs (pyhf route {pyhf_ref.route}; twice_nll hifit "
        f"{hifit_mle.twice_nll!r} pyhf {pyhf_ref.twice_nll_min!r}):\n{report}"
    )


def test_mle_uncertainties_match_pyhf(hifit_mle, pyhf_ref):
    compared = ~pyhf_ref.fixed & ~_near_bound(pyhf_ref)
    got = np.asarray(hifit_mle.uncertainty, dtype=float)
    tol = UNCERTAINTY_RTOL * pyhf_ref.uncertainty
    report = _mismatches(pyhf_ref.par_names, got, pyhf_ref.uncertainty, tol, compared)
    assert not report, (
        f"uncertainties differ by more than 2 %:\n{report}\n"
        f"(pyhf Minuit HESSE, for scale: {pyhf_ref.minuit_uncertainty.tolist()})"
    )
