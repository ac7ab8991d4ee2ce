"""Minima on the boundary of the parameter box are valid fits.

A POI pinned at 0 by a deficit (Combine's counting tutorials), a normalisation at its
bound in a pyhf workspace, a card without signal: the fit is valid, the covariance is
that of the free parameters, the pinned parameter carries a one-sided width and MINOS
runs from the bound to the crossing on the inside. References: Combine's MultiDimFit
intervals recorded in combine_real_runs.json (Combine's MINOS stops within ~0.005 of
the crossing, as in test_combine_reference.py), and pyhf's likelihood (tight fits,
finite-difference Hessians, profile crossings by root finding) computed here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyhf
import pytest
from scipy import optimize

import hifit
from hifit import infer
from hifit.datacard import load_model

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMBINE = PROJECT_ROOT / ".." / "shared" / "data" / "combine"
RUNS = json.loads((COMBINE / "references" / "combine_real_runs.json").read_text())
TOL = 0.005  # Combine's MINOS precision (combine.md §7.1)
# cards whose Combine interval starts at r = 0: MINOS's lower end is the bound
BOUNDED_CARDS = sorted(
    card for card, run in RUNS["cards"].items() if run.get("r_interval", [1])[0] == 0
)


def _card_fit(card: str):
    run = RUNS["cards"][card]
    built = load_model(str(COMBINE / card), mass=run["mass"])
    result = infer.fit(built.data, built.model)
    return built, result, run


@pytest.mark.parametrize("card", BOUNDED_CARDS)
def test_minos_from_the_bound_matches_combine(card):
    built, result, run = _card_fit(card)
    assert result.valid, result.status
    r = built.model.config.par_names.index("r")
    interval = infer.minos(built.data, built.model, "r", fit_result=result)["r"]
    assert interval.valid, interval.message
    assert interval.lower_at_bound
    assert result.bestfit[r] + interval.lower == 0.0
    lo, hi = run["r_interval"]
    assert result.bestfit[r] + interval.upper == pytest.approx(hi, abs=TOL)
    assert interval.upper_at_bound == (
        hi == built.model.config.suggested_bounds()[r][1]
    )
    if run["r"] < 0.01:  # Combine's fit sits on the bound too
        assert result.at_bound[r]
        assert result.bestfit[r] == 0.0
        # one-sided width: the crossing to second order
        assert result.uncertainty[r] == pytest.approx(interval.upper, rel=0.01)
        # the other parameters' covariance ignores the pinned direction
        assert result.cov_mat[r, r] == pytest.approx(result.uncertainty[r] ** 2)
        assert not np.any(np.delete(result.corr_mat[r], r))


def hifit_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hifit.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
    )


COUNTING = "tutorials/counting/realistic-counting-experiment.txt"


def test_fit_cli_on_a_deficit_card(tmp_path):
    out = tmp_path / "fit.json"
    proc = hifit_cli("fit", str(COMBINE / COUNTING), "--minos", "r", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "at bound" in proc.stdout
    payload = json.loads(out.read_text())
    run = RUNS["cards"][COUNTING]
    r = payload["parameters"][0]
    assert (r["name"], r["value"], r["at_bound"]) == ("r", 0.0, True)
    assert payload["valid"]
    assert payload["minos_at_bound"]["r"] == [True, False]
    assert payload["minos"]["r"][1] == pytest.approx(run["r_hi"], abs=TOL)


@pytest.mark.parametrize(
    "card", [COUNTING, "tutorials/statistical_routines_tutorial/datacard_obs12.txt"]
)
def test_no_poi_on_a_card_fixes_r_at_zero(tmp_path, card):
    out = tmp_path / "fit.json"
    proc = hifit_cli("fit", str(COMBINE / card), "--no-poi", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    r = payload["parameters"][0]
    assert (r["name"], r["value"], r["fixed"]) == ("r", 0.0, True)
    built, free, _ = _card_fit(card)
    init, fixed = (
        built.model.config.suggested_init(),
        built.model.config.suggested_fixed(),
    )
    init[0], fixed[0] = 0.0, True
    want = infer.fit(built.data, built.model, init, None, fixed)
    assert payload["twice_nll"] == pytest.approx(want.twice_nll, abs=1e-9)
    assert payload["twice_nll"] >= free.twice_nll - 1e-9


CR_ONLY = """imax 1
jmax 1
kmax 2
------------
bin         cr
observation 120
------------
bin         cr     cr
process     bkgA   bkgB
process     1      2
rate        80     30
------------
lumi  lnN   1.025  1.025
normA lnN   1.20   -
"""


def test_control_region_only_card(tmp_path):
    card = tmp_path / "cr_only.txt"
    card.write_text(CR_ONLY)
    built = load_model(str(card))
    model, data = built.model, built.data
    result = infer.fit(data, model)
    r = model.config.par_names.index("r")
    assert result.valid, result.status
    assert result.no_effect[r] and not result.at_bound[r]
    assert result.uncertainty[r] == 0.0
    # the same fit as with r frozen, which no process depends on
    fixed = model.config.suggested_fixed()
    fixed[r] = True
    frozen = infer.fit(data, model, None, None, fixed)
    assert result.twice_nll == pytest.approx(frozen.twice_nll, abs=1e-12)
    np.testing.assert_allclose(result.uncertainty, frozen.uncertainty, rtol=1e-12)
    # MINOS on r: the profile is flat, the interval is the whole range
    interval = infer.minos(data, model, "r", fit_result=result)["r"]
    lo, hi = model.config.suggested_bounds()[r]
    assert interval.valid and interval.lower_at_bound and interval.upper_at_bound
    assert (interval.lower, interval.upper) == (lo - 1.0, hi - 1.0)
    proc = hifit_cli("fit", str(card))
    assert proc.returncode == 0, proc.stderr
    assert "(no effect)" in proc.stdout


# A deficit in a signal region and its control region: the signal strength and the
# normalisation of the fakes both end on their lower bound 0.
SPEC = {
    "channels": [
        {
            "name": "sr",
            "samples": [
                {
                    "name": "signal",
                    "data": [5.0, 8.0],
                    "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                },
                {
                    "name": "background",
                    "data": [40.0, 30.0],
                    "modifiers": [
                        {
                            "name": "bkg_norm",
                            "type": "normsys",
                            "data": {"hi": 1.1, "lo": 0.9},
                        },
                        {"name": "stat_sr", "type": "staterror", "data": [3.0, 2.5]},
                    ],
                },
                {
                    "name": "fakes",
                    "data": [6.0, 4.0],
                    "modifiers": [
                        {"name": "k_fakes", "type": "normfactor", "data": None}
                    ],
                },
            ],
        },
        {
            "name": "cr",
            "samples": [
                {
                    "name": "background",
                    "data": [100.0],
                    "modifiers": [
                        {
                            "name": "bkg_norm",
                            "type": "normsys",
                            "data": {"hi": 1.1, "lo": 0.9},
                        }
                    ],
                },
                {
                    "name": "fakes",
                    "data": [15.0],
                    "modifiers": [
                        {"name": "k_fakes", "type": "normfactor", "data": None}
                    ],
                },
            ],
        },
    ],
    "observations": [
        {"name": "sr", "data": [38.0, 27.0]},
        {"name": "cr", "data": [97.0]},
    ],
    "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
    "version": "1.0.0",
}


@pytest.fixture(scope="module")
def bounded_workspace():
    ws = hifit.Workspace(SPEC)
    model = ws.model()
    data = np.asarray(ws.data(model))
    pmodel = pyhf.Workspace(SPEC).model()
    assert model.config.par_names == pmodel.config.par_names
    return model, data, pmodel


def _pyhf_twice_nll(pmodel, pars, data) -> float:
    return -2.0 * float(pmodel.logpdf(np.asarray(pars, dtype=float), data)[0])


def _pyhf_fit(pmodel, data, fixed=None, init=None):
    """pyhf's Minuit fit, tightly converged."""
    with pyhf_minuit():
        pars, twice_nll = pyhf.infer.mle.fit(
            data,
            pmodel,
            init_pars=init,
            fixed_params=fixed,
            return_fitted_val=True,
        )
    return np.asarray(pars, dtype=float), float(twice_nll)


class pyhf_minuit:
    def __enter__(self):
        self._old = pyhf.get_backend()
        pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-7))

    def __exit__(self, *exc):
        pyhf.set_backend(*self._old)


def _fd_grad_hess(func, x, step=1e-4):
    """Central finite differences of func at x: gradient and Hessian."""
    n = len(x)
    e = np.eye(n) * step
    grad = np.array([(func(x + e[i]) - func(x - e[i])) / (2 * step) for i in range(n)])
    hess = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            hess[i, j] = (
                func(x + e[i] + e[j])
                - func(x + e[i] - e[j])
                - func(x - e[i] + e[j])
                + func(x - e[i] - e[j])
            ) / (4 * step * step)
    return grad, hess


def test_normalisation_at_bound_in_a_pyhf_workspace(bounded_workspace):
    model, data, pmodel = bounded_workspace
    names = model.config.par_names
    result = infer.fit(data, model)
    assert result.valid, result.status
    pinned = [names.index("mu"), names.index("k_fakes")]
    assert sorted(names[i] for i in np.flatnonzero(result.at_bound)) == [
        "k_fakes",
        "mu",
    ]
    assert result.bestfit[pinned].tolist() == [0.0, 0.0]
    pyhf_pars, pyhf_min = _pyhf_fit(pmodel, data)
    assert result.twice_nll <= pyhf_min + 1e-6
    np.testing.assert_allclose(result.bestfit, pyhf_pars, atol=1e-3)

    # pyhf's Hessian at the minimum, by finite differences of its twice_nll
    def func(x):
        return _pyhf_twice_nll(pmodel, x, data)

    x = np.asarray(result.bestfit)
    grad, hess = _fd_grad_hess(func, x)
    free = [i for i in range(len(names)) if i not in pinned]
    cov = 2.0 * np.linalg.inv(hess[np.ix_(free, free)])
    sigma = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(result.uncertainty[free], sigma, rtol=1e-4)
    np.testing.assert_allclose(
        result.corr_mat[np.ix_(free, free)], cov / np.outer(sigma, sigma), atol=1e-4
    )
    # one-sided widths: where the second-order profile rises by 1
    for b in pinned:
        cross = hess[b, free]
        curvature = hess[b, b] - cross @ np.linalg.solve(
            hess[np.ix_(free, free)], cross
        )
        width = 2.0 / (grad[b] + np.sqrt(grad[b] ** 2 + 2.0 * curvature))
        assert result.uncertainty[b] == pytest.approx(width, rel=1e-4)


def test_minos_of_a_normalisation_at_bound(bounded_workspace):
    model, data, pmodel = bounded_workspace
    result = infer.fit(data, model)
    interval = infer.minos(data, model, "k_fakes", fit_result=result)["k_fakes"]
    assert interval.valid, interval.message
    assert interval.lower_at_bound and not interval.upper_at_bound
    assert interval.lower == 0.0
    # pyhf's profile crossing: fits with k_fakes fixed, root of the rise minus 1
    k = model.config.par_names.index("k_fakes")
    _, pyhf_min = _pyhf_fit(pmodel, data)

    def rise(value: float) -> float:
        init = pmodel.config.suggested_init()
        fixed = pmodel.config.suggested_fixed()
        init[k], fixed[k] = value, True
        return _pyhf_fit(pmodel, data, fixed, init)[1] - pyhf_min - 1.0

    crossing = optimize.brentq(rise, 1e-3, 5.0, xtol=1e-7)
    assert interval.upper == pytest.approx(crossing, abs=1e-4)
    # the second-order width is close to it, not equal
    assert result.uncertainty[k] == pytest.approx(crossing, rel=0.05)


@pytest.mark.parametrize(
    ("card", "mass", "name", "value"),
    [
        ("ci/htt_multiple_regions.txt", 125, "CMS_scale_t_tautau_8TeV", -1.119203),
        (
            "ci/template-analysis_shapeInterp_womcstats.txt",
            200,
            "CMS_eff_t_mssmHigh_tt_13TeV",
            -1.508213,
        ),
    ],
)
def test_minimum_on_a_floor_kink_is_a_converged_minimum(card, mass, name, value):
    """Fits whose minimum sits where a rate meets Combine's 1e-9 floor (a kink of
    -2 ln L): converged, and no nearby point is lower by more than the remaining EDM
    (checked by direct evaluation along every parameter and random directions)."""
    built = load_model(str(COMBINE / card), mass=mass)
    model, data = built.model, built.data
    i = model.config.par_names.index(name)
    init, fixed = model.config.suggested_init(), model.config.suggested_fixed()
    init[i], fixed[i] = value, True
    r = hifit.infer.fit(data, model, init, None, fixed)
    assert r.valid and r.edm < 1e-6, r.status  # EDM goal, or rounding-limited
    x = np.array(r.bestfit)
    free = ~np.array(fixed)

    def twice_nll(p):
        return float(-2 * np.sum(model.logpdf(p, data)))

    best = twice_nll(x)
    assert best == pytest.approx(r.twice_nll, abs=1e-9)
    slack = max(1e-9, 10 * r.edm)  # no lower point than the remaining EDM allows
    rng = np.random.default_rng(1)
    directions = [np.eye(len(x))[j] for j in np.flatnonzero(free)]
    directions += [rng.normal(size=len(x)) * free for _ in range(100)]
    for d in directions:
        for step in (1e-3, 1e-5):
            for sign in (1, -1):
                assert twice_nll(x + sign * step * d / np.linalg.norm(d)) > best - slack
