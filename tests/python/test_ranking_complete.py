"""Ranking where a shifted parameter would leave its bounds.

The second bin's MC statistical uncertainty (7 on 6 events) gives its staterror gamma
a pre-fit width of 1.17 and, with 5 observed events, a post-fit value of 0.30 +- 0.52:
gamma - sigma is below 0, where the rate turns negative (pyhf refuses such a fit).
The shifted value is clipped to the bound (as Combine's impacts do), flagged, and
refitted; the reference is pyhf's fit with gamma fixed at the bound.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyhf
import pytest

import hifit
from hifit import infer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPEC = {
    "channels": [
        {
            "name": "sr",
            "samples": [
                {
                    "name": "signal",
                    "data": [6.0, 3.0, 1.0],
                    "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                },
                {
                    "name": "background",
                    "data": [20.0, 6.0, 2.0],
                    "modifiers": [
                        {
                            "name": "stat_sr",
                            "type": "staterror",
                            "data": [2.0, 7.0, 1.0],
                        }
                    ],
                },
            ],
        }
    ],
    "observations": [{"name": "sr", "data": [29.0, 5.0, 3.0]}],
    "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
    "version": "1.0.0",
}
GAMMA = "stat_sr[1]"


@pytest.fixture(scope="module")
def model_data():
    ws = hifit.Workspace(SPEC)
    model = ws.model()
    return model, np.asarray(ws.data(model))


def _pyhf_mu(fix: dict[int, float] | None = None) -> float:
    """pyhf's (Minuit, tight) best-fit POI, with parameters in `fix` held."""
    pmodel = pyhf.Workspace(SPEC).model()
    data = pyhf.Workspace(SPEC).data(pmodel)
    init, fixed = pmodel.config.suggested_init(), pmodel.config.suggested_fixed()
    for i, value in (fix or {}).items():
        init[i], fixed[i] = value, True
    old = pyhf.get_backend()
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=1e-7))
    try:
        pars = pyhf.infer.mle.fit(data, pmodel, init_pars=init, fixed_params=fixed)
    finally:
        pyhf.set_backend(*old)
    return float(pars[pmodel.config.poi_index])


def test_shifts_below_zero_are_clipped_and_refitted(model_data):
    model, data = model_data
    names = model.config.par_names
    g = names.index(GAMMA)
    best = infer.fit(data, model)
    lo = model.config.suggested_bounds()[g][0]
    prefit = infer.prefit_uncertainties(model)
    # the situation: both downward shifts leave the bounds
    assert best.bestfit[g] - best.uncertainty[g] < lo
    assert best.bestfit[g] - prefit[g] < lo

    r = infer.ranking(data, model, fit_result=best)
    assert r.valid and r.failed_fits == 0
    k = r.labels.index(GAMMA)
    # columns: prefit up, prefit down, postfit up, postfit down
    assert r.clipped[k].tolist() == [False, True, False, True]
    assert r.clipped.sum() == 2
    assert r.refits == 4 * len(r.labels)

    mu_hat = _pyhf_mu()
    assert best.bestfit[model.config.poi_index] == pytest.approx(mu_hat, abs=1e-5)
    at_bound = _pyhf_mu({g: lo}) - mu_hat
    assert r.prefit_down[k] == pytest.approx(at_bound, abs=1e-5)
    assert r.postfit_down[k] == pytest.approx(at_bound, abs=1e-5)
    # an unclipped shift for comparison
    up = _pyhf_mu({g: best.bestfit[g] + best.uncertainty[g]}) - mu_hat
    assert r.postfit_up[k] == pytest.approx(up, abs=1e-5)


def test_cabinetry_ranking_reports_the_clipped_impacts(model_data, caplog):
    model, data = model_data
    with caplog.at_level(logging.INFO, logger="cabinetry"):
        ranking = hifit.cabinetry.fit.ranking(model, data)
    engine = infer.ranking(data, model)
    i, k = ranking.labels.index(GAMMA), engine.labels.index(GAMMA)
    assert ranking.postfit_down[i] == pytest.approx(engine.postfit_down[k], abs=1e-9)
    assert f"{GAMMA}: prefit_down, postfit_down clipped" in caplog.text


def test_ranking_cli_marks_clipped_impacts(tmp_path):
    ws = tmp_path / "ws.json"
    ws.write_text(json.dumps(SPEC))
    out = tmp_path / "ranking.json"
    proc = subprocess.run(
        [sys.executable, "-m", "hifit.cli", "ranking", str(ws), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith(GAMMA))
    assert row.count("*") == 2
    assert "clipped to the parameter's bound" in proc.stdout
    payload = json.loads(out.read_text())
    assert payload["valid"] and payload["clipped_shifts"] == 2
    entry = next(p for p in payload["parameters"] if p["name"] == GAMMA)
    assert entry["clipped"] == ["prefit_down", "postfit_down"]
