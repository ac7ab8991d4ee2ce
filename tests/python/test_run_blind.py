"""`hifit run --blind`: every step on cabinetry's pre-fit Asimov data set; results,
yield tables and report never show the observations (checked against cabinetry on
the workspace the run wrote)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cabinetry
import numpy as np
import pytest


@pytest.fixture(scope="module")
def blind_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("blind")
    subprocess.run(
        [sys.executable, "-m", "hifit.examples.demo", str(base / "demo")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "hifit.cli", "run", "demo/config.yml", "--blind"]
        + ["-o", "out"],
        cwd=base,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "blinded" in proc.stdout
    return base / "out"


def test_blind_fit_is_cabinetrys_asimov_fit(blind_run: Path) -> None:
    spec = json.loads((blind_run / "workspace.json").read_text())
    model, asimov = cabinetry.model_utils.model_and_data(spec, asimov=True)
    ref = cabinetry.fit.fit(model, asimov, tolerance=1e-6)
    for kind in ("fit", "ranking", "limit", "significance", "scan"):
        assert json.loads((blind_run / f"{kind}.json").read_text())["data"] == "asimov"
    fit = json.loads((blind_run / "fit.json").read_text())
    assert [p["name"] for p in fit["parameters"]] == list(ref.labels)
    values = [p["value"] for p in fit["parameters"]]
    np.testing.assert_allclose(values, ref.bestfit, atol=1e-3 * max(ref.uncertainty))
    assert fit["twice_nll"] == pytest.approx(ref.best_twice_nll, abs=1e-4)


def test_blind_tables_and_report_show_no_observed_data(blind_run: Path) -> None:
    spec = json.loads((blind_run / "workspace.json").read_text())
    model, asimov = cabinetry.model_utils.model_and_data(
        spec, asimov=True, include_auxdata=False
    )
    observed = {o["name"]: sum(o["data"]) for o in spec["observations"]}
    expected = {
        name: float(np.sum(asimov[model.config.channel_slices[name]]))
        for name in model.config.channels
    }
    table = (blind_run / "tables" / "yields_per_channel_pre-fit.txt").read_text()
    data_row = next(line for line in table.splitlines() if line.startswith("data"))
    for name in model.config.channels:
        assert f"{expected[name]:.2f}" in data_row
        assert f"{observed[name]:.2f}" not in data_row
    assert "Blinded" in (blind_run / "report.html").read_text()
