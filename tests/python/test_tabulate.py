"""hifit.cabinetry.tabulate.yields against cabinetry.tabulate.yields on the same
predictions.

cabinetry computes the prediction from a pyhf model; hifit's table gets the very
same numbers, with the pyhf model swapped for a hifit model built from the same
workspace. Tables, logged output and written files must then be identical.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import hifit
from hifit.cabinetry import tabulate as hifit_tabulate

cabinetry = pytest.importorskip("cabinetry")

CABINETRY_DATA = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cabinetry"
)
EXAMPLE_WORKSPACE = CABINETRY_DATA / "derived" / "example_workspace_config_example.json"


class Prediction(NamedTuple):
    """The fields of cabinetry's ModelPrediction, for any model."""

    model: Any
    model_yields: list
    total_stdev_model_bins: list
    total_stdev_model_channels: list
    label: str


def _two_channel_spec() -> dict[str, Any]:
    """Two channels of different sizes (one name with a space), three samples."""

    def sample(name, data, modifiers):
        return {"name": name, "data": data, "modifiers": modifiers}

    lumi = {"name": "lumi", "type": "normsys", "data": {"hi": 1.05, "lo": 0.95}}
    mu = {"name": "mu", "type": "normfactor", "data": None}
    return {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    sample("sig", [2.0, 5.5, 9.25], [mu, lumi]),
                    sample(
                        "bkg",
                        [50.0, 40.0, 30.0],
                        [
                            lumi,
                            {
                                "name": "staterror_SR",
                                "type": "staterror",
                                "data": [3.0, 2.5, 2.0],
                            },
                        ],
                    ),
                    sample("fakes", [4.0, 3.0, 1.0], []),
                ],
            },
            {
                "name": "CR one",
                "samples": [
                    sample("sig", [0.5, 0.25], [mu]),
                    sample("bkg", [120.0, 80.0], [lumi]),
                    sample("fakes", [10.0, 6.0], []),
                ],
            },
        ],
        "observations": [
            {"name": "SR", "data": [55.0, 51.0, 43.0]},
            {"name": "CR one", "data": [128.0, 90.0]},
        ],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def _example_spec() -> dict[str, Any]:
    return json.loads(EXAMPLE_WORKSPACE.read_text())


SPECS = {"example": _example_spec, "two_channels": _two_channel_spec}


@pytest.fixture(scope="module", params=sorted(SPECS))
def models(request):
    """(pyhf model, hifit model, data with auxdata, cabinetry pre-fit prediction)."""
    spec = SPECS[request.param]()
    pyhf_model, data = cabinetry.model_utils.model_and_data(spec)
    hifit_model = hifit.Workspace(spec).model()
    # The table rows follow model order; both engines must agree on it.
    assert hifit_model.config.channels == pyhf_model.config.channels
    assert hifit_model.config.samples == pyhf_model.config.samples
    assert hifit_model.config.channel_nbins == pyhf_model.config.channel_nbins
    prediction = cabinetry.model_utils.prediction(pyhf_model)
    return pyhf_model, hifit_model, data, prediction


def _same_numbers(prediction, model) -> Prediction:
    return Prediction(model, *prediction[1:])


def _both(prediction, hifit_model, data, caplog, tmp_path, **kwargs):
    """Run both implementations; return (tables, log lines, files) for each."""
    results = []
    for name, module, pred in (
        ("cabinetry", cabinetry.tabulate, prediction),
        ("hifit", hifit_tabulate, _same_numbers(prediction, hifit_model)),
    ):
        folder = tmp_path / name
        caplog.clear()
        with caplog.at_level(logging.INFO):
            tables = module.yields(pred, data, table_folder=folder, **kwargs)
        # Log lines differ only where a message names the output folder.
        messages = [
            r.getMessage().replace(str(folder), "FOLDER")
            for r in caplog.records
            if r.name.endswith("tabulate") or r.name.endswith("model_utils")
        ]
        files = (
            {
                p.name: p.read_text(encoding="utf-8")
                for p in sorted(folder.glob("*"))
                if p.is_file()
            }
            if folder.exists()
            else {}
        )
        results.append((tables, messages, files))
    return results


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"per_channel": True},
        {"per_bin": False, "per_channel": True},
        {"per_channel": True, "table_format": "latex"},
        {"per_channel": True, "table_format": "html"},
        {"per_channel": True, "table_format": "tsv"},
        {"per_channel": True, "table_format": "plain"},
        {"per_channel": True, "table_format": "github"},
        {"per_channel": True, "save_tables": False},
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults",
)
def test_same_tables_logs_and_files_as_cabinetry(models, kwargs, caplog, tmp_path):
    _, hifit_model, data, prediction = models
    reference, ours = _both(prediction, hifit_model, data, caplog, tmp_path, **kwargs)
    assert ours[0] == reference[0]
    assert ours[1] == reference[1]
    assert ours[2] == reference[2]
    if kwargs.get("save_tables", True):
        assert ours[2], "tables were not written"


@pytest.mark.parametrize(
    "channels", ["SR", ["CR one"], ["CR one", "SR"], ["nope", "SR"], "nope", []]
)
def test_channel_selection_as_cabinetry(models, channels, caplog, tmp_path):
    pyhf_model, hifit_model, data, prediction = models
    reference, ours = _both(
        prediction,
        hifit_model,
        data,
        caplog,
        tmp_path,
        channels=channels,
        per_channel=True,
    )
    assert ours == reference


def test_data_without_auxdata_and_as_array(models, caplog, tmp_path):
    pyhf_model, hifit_model, data, prediction = models
    main = np.asarray(data[: pyhf_model.config.nmaindata])
    reference = cabinetry.tabulate.yields(
        prediction, data, per_channel=True, save_tables=False
    )
    ours = hifit_tabulate.yields(
        _same_numbers(prediction, hifit_model),
        main,
        per_channel=True,
        save_tables=False,
    )
    assert ours == reference


def test_post_fit_tables_as_cabinetry(caplog, tmp_path):
    pyhf_model, data = cabinetry.model_utils.model_and_data(_example_spec())
    fit_results = cabinetry.fit.fit(pyhf_model, data)
    prediction = cabinetry.model_utils.prediction(pyhf_model, fit_results=fit_results)
    hifit_model = hifit.Workspace(_example_spec()).model()
    reference, ours = _both(
        prediction, hifit_model, data, caplog, tmp_path, per_channel=True
    )
    assert ours == reference
    assert sorted(ours[2]) == [
        "yields_per_bin_post-fit.txt",
        "yields_per_channel_post-fit.txt",
    ]


def test_tutorial_pre_fit_table_text():
    """The pre-fit table printed in the tutorial (reference §7), as written."""
    spec = json.loads(
        (
            CABINETRY_DATA
            / "derived"
            / "example_workspace_tutorial_disable_signal_staterror.json"
        ).read_text()
    )
    pyhf_model, data = cabinetry.model_utils.model_and_data(spec)
    prediction = cabinetry.model_utils.prediction(pyhf_model)
    hifit_model = hifit.Workspace(spec).model()
    tables = hifit_tabulate.yields(
        _same_numbers(prediction, hifit_model), data, save_tables=False
    )
    rows = tables["yields_per_bin"]
    assert [row["sample"] for row in rows] == ["Background", "Signal", "total", "data"]
    assert list(rows[0].values())[1:] == [
        "112.74 \u00b1 69.04",
        "128.62 \u00b1 58.33",
        "88.11 \u00b1 38.06",
        "55.25 \u00b1 45.20",
    ]
    assert rows[2]["Signal_region\nbin 4"] == "79.79 \u00b1 45.29"
    assert rows[3]["Signal_region\nbin 1"] == "112.00"


def test_neither_table_requested(models, caplog):
    _, hifit_model, data, prediction = models
    with caplog.at_level(logging.WARNING):
        tables = hifit_tabulate.yields(
            _same_numbers(prediction, hifit_model),
            data,
            per_bin=False,
            per_channel=False,
        )
    assert tables == {}
    assert "neither yields per bin nor per channel" in caplog.text


def test_too_little_data_is_a_clear_error(models):
    _, hifit_model, _, prediction = models
    with pytest.raises(hifit.exceptions.HifitError, match="data has 1 entries"):
        hifit_tabulate.yields(
            _same_numbers(prediction, hifit_model), [1.0], save_tables=False
        )
