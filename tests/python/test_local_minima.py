"""Fits with the POI fixed on a likelihood with two minima.

One histosys with a +200 % up variation and a -10 %/-34 % down variation bends the
background rate (pyhf's code4p polynomial inside |alpha| < 1, linear outside): for
mu >= 2.75 -2 ln L has a second, worse minimum near alpha = -0.5, and a fit at mu = 3
started from the unconditional solution (alpha = 0.11) falls into it, 10.7 units
above the global minimum (alpha = -2.96). The references are brute-force profiles:
-2 ln L on a dense alpha grid, every grid minimum polished with scipy, the lowest
kept; pyhf's logpdf confirms the likelihood at the minima.
"""

from __future__ import annotations

import numpy as np
import pyhf
import pytest
from scipy import optimize, stats

import hifit
from hifit import infer

SPEC = {
    "channels": [
        {
            "name": "sr",
            "samples": [
                {
                    "name": "signal",
                    "data": [5.2, 22.9],
                    "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                },
                {
                    "name": "background",
                    "data": [37.2, 32.3],
                    "modifiers": [
                        {
                            "name": "alpha",
                            "type": "histosys",
                            "data": {"hi_data": [111.6, 96.9], "lo_data": [33.4, 21.3]},
                        }
                    ],
                },
            ],
        }
    ],
    "observations": [{"name": "sr", "data": [45.0, 48.0]}],
    "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
    "version": "1.0.0",
}
ALPHA, MU = 0, 1  # parameter order of the model
TRAPPED = [2.75, 3.0, 3.5, 4.0]  # POI values where the warm start is trapped


@pytest.fixture(scope="module")
def model_data():
    ws = hifit.Workspace(SPEC)
    model = ws.model()
    assert model.config.par_names == ["alpha", "mu"]
    return model, np.asarray(ws.data(model))


def brute_profile(model, data, mu: float) -> tuple[float, float]:
    """Global minimum over alpha at fixed mu: (twice_nll, alpha)."""
    lo, hi = model.config.suggested_bounds()[ALPHA]
    grid = np.linspace(lo, hi, 401)
    values = np.array([model.twice_nll([a, mu], data) for a in grid])
    best = (np.inf, np.nan)
    for i in range(len(grid)):
        left = values[max(i - 1, 0)]
        right = values[min(i + 1, len(grid) - 1)]
        if values[i] <= left and values[i] <= right:
            a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
            r = optimize.minimize_scalar(
                lambda x: model.twice_nll([x, mu], data),
                bounds=(a, b),
                method="bounded",
                options={"xatol": 1e-10},
            )
            best = min(best, (float(r.fun), float(r.x)))
    return best


def brute_free(model, data) -> float:
    """Global minimum over (alpha, mu): the brute profile minimised over mu."""
    lo, hi = model.config.suggested_bounds()[MU]
    mus = np.linspace(lo, hi, 201)
    k = int(np.argmin([brute_profile(model, data, m)[0] for m in mus]))
    r = optimize.minimize_scalar(
        lambda m: brute_profile(model, data, m)[0],
        bounds=(mus[max(k - 1, 0)], mus[min(k + 1, len(mus) - 1)]),
        method="bounded",
        options={"xatol": 1e-9},
    )
    return float(r.fun)


def test_pyhf_agrees_on_both_minima(model_data):
    model, data = model_data
    pmodel = pyhf.Workspace(SPEC).model()
    for alpha in (-2.96, -0.53):
        want = -2 * float(pmodel.logpdf(np.array([alpha, 3.0]), data)[0])
        assert model.twice_nll([alpha, 3.0], data) == pytest.approx(want, rel=1e-12)


def test_the_naive_warm_start_is_trapped(model_data):
    model, data = model_data
    free = infer.fit(data, model)
    assert free.twice_nll == pytest.approx(brute_free(model, data), abs=1e-6)
    for mu in TRAPPED:
        init = list(free.bestfit)
        init[MU] = mu
        naive = infer.fit(data, model, init, None, [False, True])
        assert naive.valid
        assert naive.twice_nll > brute_profile(model, data, mu)[0] + 5.0


@pytest.mark.parametrize("mu", TRAPPED)
def test_fixed_poi_fit_reaches_the_global_minimum(model_data, mu):
    model, data = model_data
    got = infer.fixed_poi_fit(mu, data, model)
    want, alpha = brute_profile(model, data, mu)
    assert got.valid
    assert got.twice_nll == pytest.approx(want, abs=1e-6)
    assert got.bestfit[ALPHA] == pytest.approx(alpha, abs=1e-4)


def test_scan_is_the_global_profile_and_equals_fixed_poi_fits(model_data):
    model, data = model_data
    mus = np.linspace(0.0, 5.0, 21)
    scan = infer.scan(data, model, "mu", mus)
    assert scan.valid.all()
    want = np.array([brute_profile(model, data, mu)[0] for mu in mus])
    np.testing.assert_allclose(scan.twice_nll, want, atol=1e-6)
    for mu in TRAPPED:
        k = int(np.argmin(np.abs(mus - mu)))
        if mus[k] == mu:
            fixed = infer.fixed_poi_fit(mu, data, model)
            assert scan.twice_nll[k] == pytest.approx(fixed.twice_nll, abs=1e-6)


def _cls_qtilde(q_obs: float, q_asimov: float) -> float:
    """pyhf's asymptotic CLs for qmu_tilde from the two test-statistic values."""
    sq, sqa = np.sqrt(q_obs), np.sqrt(q_asimov)
    t = sq - sqa if sq <= sqa else (q_obs - q_asimov) / (2 * sqa)
    return float(stats.norm.sf(t + sqa) / stats.norm.sf(t))


def _brute_q(model, data, mu: float, free: float) -> float:
    return max(brute_profile(model, data, mu)[0] - free, 0.0)


def test_hypotest_and_limit_use_the_global_profile(model_data):
    model, data = model_data
    calc = infer.AsymptoticCalculator(data, model)
    # Asimov data: expected data at the (global) conditional fit at mu = 0
    alpha0 = brute_profile(model, data, 0.0)[1]
    asimov = model.expected_data([alpha0, 0.0])
    np.testing.assert_allclose(calc.asimov_data, asimov, rtol=1e-7)
    free_obs = brute_free(model, data)
    free_asimov = brute_free(model, asimov)
    for mu in TRAPPED:
        r = calc.hypotest(mu)
        assert r.valid, r.message
        assert r.q_obs == pytest.approx(_brute_q(model, data, mu, free_obs), abs=1e-5)
        assert r.q_asimov == pytest.approx(
            _brute_q(model, asimov, mu, free_asimov), abs=1e-5
        )

    def cls(mu: float) -> float:
        return _cls_qtilde(
            _brute_q(model, data, mu, free_obs),
            _brute_q(model, asimov, mu, free_asimov),
        )

    limit = infer.upper_limit(data, model)
    assert limit.valid, limit.message
    want = optimize.brentq(lambda mu: cls(mu) - 0.05, 0.5, 10.0, xtol=1e-8)
    assert limit.observed == pytest.approx(want, abs=1e-4)


def test_minos_below_a_local_best_fit_refits_to_the_global_minimum():
    """pyhf's validation workspace with a coupled histosys: the fit from pyhf's start
    (pyhf itself too) stops in a local minimum; MINOS's profile finds the lower one,
    the fit restarts there, and the interval is computed around it. The global
    minimum is checked with scipy from a grid of starts on pyhf's likelihood."""
    import json
    from pathlib import Path

    path = (
        Path(__file__).resolve().parents[2]
        / ".."
        / "shared"
        / "data"
        / "pyhf"
        / "validation-workspaces"
        / "validation_2bin_2channel_coupledhistosys.json"
    )
    spec = json.loads(path.read_text())
    ws = hifit.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    local = infer.fit(data, model)
    intervals = infer.minos(data, model, ["mu"], fit_result=local)
    improved = intervals["mu"].improved_fit
    assert improved is not None and improved.valid
    pmodel = pyhf.Workspace(spec).model()
    pdata = pyhf.Workspace(spec).data(pmodel)
    bounds = pmodel.config.suggested_bounds()

    def twice_nll(p):
        return float(-2 * pmodel.logpdf(p, pdata)[0])

    starts = [(a, m) for a in np.linspace(-2, 2, 9) for m in np.linspace(0, 3, 7)]
    fits = [optimize.minimize(twice_nll, s, bounds=bounds) for s in starts]
    reference = min(fits, key=lambda f: f.fun)
    assert local.twice_nll > reference.fun + 1.0  # the local minimum is well above
    assert improved.twice_nll == pytest.approx(reference.fun, abs=1e-6)
    assert improved.bestfit == pytest.approx(reference.x, abs=1e-3)
    # the interval is around the global minimum: the profile rises by 1 at its ends
    mu = model.config.par_names.index("mu")
    for end in (intervals["mu"].lower, intervals["mu"].upper):
        at = infer.fixed_poi_fit(improved.bestfit[mu] + end, data, model)
        assert at.twice_nll - improved.twice_nll == pytest.approx(1.0, abs=1e-4)
