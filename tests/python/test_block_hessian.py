"""Fits in blocks (per-bin parameters such as staterror) vs pyhf and the dense path.

A pyhf workspace with 300 staterror bins takes the block path by default (256 per-bin
parameters or more). Its minimum is compared with pyhf's (scipy) fit and its
-2 ln L with pyhf's logpdf at the same point (a 40-bin model, forced onto the block
path, with pyhf's fit from its own start); best fit, -2 ln L, uncertainties and
covariance with the dense path of the same fit (forced with ``hessian="dense"``).
A model of more than 4096 parameters gives the covariance of the global parameters
only, named in ``cov_labels`` and in the JSON document.
"""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

import hifit


def staterror_spec(nbins: int, seed: int) -> dict:
    """Signal + background with normsys, lumi and one staterror per bin."""
    rng = np.random.default_rng(seed)
    sig = rng.uniform(2, 5, nbins)
    bkg = rng.uniform(20, 50, nbins)
    err = bkg * rng.uniform(0.05, 0.15, nbins)
    obs = np.round(0.8 * sig + bkg + rng.normal(0, 1, nbins) * np.sqrt(bkg))
    return {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {
                        "name": "signal",
                        "data": sig.tolist(),
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "lumi", "type": "lumi", "data": None},
                        ],
                    },
                    {
                        "name": "background",
                        "data": bkg.tolist(),
                        "modifiers": [
                            {
                                "name": "norm",
                                "type": "normsys",
                                "data": {"hi": 1.1, "lo": 0.92},
                            },
                            {"name": "lumi", "type": "lumi", "data": None},
                            {"name": "stat", "type": "staterror", "data": err.tolist()},
                        ],
                    },
                ],
            }
        ],
        "observations": [{"name": "c", "data": obs.tolist()}],
        "measurements": [
            {
                "name": "m",
                "config": {
                    "poi": "mu",
                    "parameters": [
                        {
                            "name": "lumi",
                            "auxdata": [1.0],
                            "inits": [1.0],
                            "sigmas": [0.02],
                            "bounds": [[0.5, 1.5]],
                        }
                    ],
                },
            }
        ],
        "version": "1.0.0",
    }


@pytest.fixture(scope="module")
def case():
    spec = staterror_spec(300, seed=11)
    ws = hifit.Workspace(spec)
    model = ws.model()
    data = np.asarray(ws.data(model))
    return spec, model, data


def pyhf_setup(spec, model):
    """pyhf's model and data, and the permutation from hifit's parameter order."""
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    pws = pyhf.Workspace(spec)
    pmodel = pws.model()
    order = [pmodel.config.par_names.index(n) for n in model.config.par_names]
    return pmodel, np.asarray(pws.data(pmodel)), order


def test_block_fit_matches_pyhf(case):
    """300 bins, the default (block) path: pyhf's -2 ln L at hifit's minimum is
    hifit's, and pyhf's fit started there finds nothing lower (its own start takes
    over 30 s with numerical gradients)."""
    spec, model, data = case
    res = hifit.infer.fit(data, model)
    assert res.valid, res.status
    pmodel, pdata, order = pyhf_setup(spec, model)
    ours = np.empty(len(order))
    ours[order] = res.bestfit
    assert res.twice_nll == pytest.approx(
        -2 * float(pmodel.logpdf(ours, pdata)[0]), rel=1e-10
    )
    best, twice_nll = pyhf.infer.mle.fit(
        pdata, pmodel, init_pars=ours.tolist(), return_fitted_val=True
    )
    assert res.twice_nll <= float(twice_nll) + 1e-9
    np.testing.assert_allclose(res.bestfit, np.asarray(best)[order], atol=1e-5)


def test_block_fit_matches_pyhf_from_its_start():
    """40 bins forced onto the block path, pyhf from its own suggested start."""
    spec = staterror_spec(40, seed=3)
    ws = hifit.Workspace(spec)
    model = ws.model()
    res = hifit.infer.fit(np.asarray(ws.data(model)), model, hessian="block")
    assert res.valid, res.status
    pmodel, pdata, order = pyhf_setup(spec, model)
    best, twice_nll = pyhf.infer.mle.fit(pdata, pmodel, return_fitted_val=True)
    assert res.twice_nll <= float(twice_nll) + 1e-9
    assert res.twice_nll == pytest.approx(float(twice_nll), abs=1e-8)
    np.testing.assert_allclose(res.bestfit, np.asarray(best)[order], atol=1e-5)


def test_block_fit_equals_dense_fit(case):
    _, model, data = case
    block = hifit.infer.fit(data, model, hessian="block")
    dense = hifit.infer.fit(data, model, hessian="dense")
    auto = hifit.infer.fit(data, model)
    assert block.valid and dense.valid
    np.testing.assert_array_equal(auto.bestfit, block.bestfit)
    assert block.twice_nll == pytest.approx(dense.twice_nll, rel=1e-12)
    np.testing.assert_allclose(block.bestfit, dense.bestfit, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(block.uncertainty, dense.uncertainty, rtol=1e-8)
    scale = np.outer(dense.uncertainty, dense.uncertainty)
    np.testing.assert_allclose(block.cov_mat / scale, dense.cov_mat / scale, atol=1e-8)
    assert block.cov_labels is None  # 302 parameters: the full covariance


def test_large_model_gives_global_covariance_only():
    spec = staterror_spec(5000, seed=5)
    ws = hifit.Workspace(spec)
    model = ws.model()
    res = hifit.infer.fit(np.asarray(ws.data(model)), model)
    assert res.valid, res.status
    assert res.cov_labels == ["lumi", "mu", "norm"]
    assert res.cov_mat.shape == (3, 3)
    assert np.all(res.uncertainty[[not f for f in res.fixed]] > 0)
    doc = res.to_dict()
    assert doc["correlation_parameters"] == ["lumi", "mu", "norm"]
    assert np.isfinite(np.asarray(doc["correlation"])).all()
    assert len(doc["parameters"]) == 5003
