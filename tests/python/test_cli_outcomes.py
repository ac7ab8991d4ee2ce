"""Honest outcomes of the inference commands: exit 0 only for a valid result, 1 when a
fit the result relies on failed (naming it), 2 for an invalid request before any work,
and JSON files without NaN or Infinity."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
SIMPLE = (
    DATA
    / "validation-workspaces"
    / "simplemodels_uncorrelated_background_doc_example.json"
)
COUPLED = DATA / "validation-workspaces" / "validation_2bin_2channel_couplednorm.json"


def hifit(*args):
    cmd = [sys.executable, "-m", "hifit.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def one_error_line(proc, code):
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def counting(signal, background, observed, bkg_modifiers=()):
    """One channel: a signal scaled by mu and a background, per bin."""
    samples = [("signal", signal, [{"name": "mu", "type": "normfactor", "data": None}])]
    samples.append(("bkg", background, list(bkg_modifiers)))
    channel = [{"name": n, "data": d, "modifiers": m} for n, d, m in samples]
    return {
        "channels": [{"name": "sr", "samples": channel}],
        "observations": [{"name": "sr", "data": observed}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def signal_only_bin_workspace():
    """A bin with signal and no background but observed events: every fit with the
    POI at 0 has a rate of 0 against 3 events, an infinite -ln L."""
    norm = {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
    return counting([5.0, 1.0], [0.0, 10.0], [3.0, 10.0], [norm])


@pytest.fixture
def failing_ws(tmp_path):
    path = tmp_path / "signal_only.json"
    path.write_text(json.dumps(signal_only_bin_workspace()))
    return path


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["cls", "--mu", "1"], "Asimov generation fit"),
        (["limit"], "hypothesis tests have failed fits, the first at mu = "),
        (["significance"], "background-only fit to data"),
        (["scan", "--range", "0:2:3"], "mu = 0"),
    ],
)
def test_failed_inner_fits_exit_1_naming_them_and_write_nothing(
    failing_ws, tmp_path, args, named
):
    out = tmp_path / "out.json"
    proc = hifit(args[0], failing_ws, *args[1:], "-o", out)
    line = one_error_line(proc, 1)
    assert named in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["cls", SIMPLE, "--mu", "nan"], "expected a finite number"),
        (["cls", SIMPLE, "--mu", "inf"], "expected a finite number"),
        (["cls", SIMPLE, "--mu", "11"], "outside the bounds [0, 10] of mu"),
        (["limit", SIMPLE, "--level", "0"], "not in (0, 1)"),
        (["limit", SIMPLE, "--level", "1"], "not in (0, 1)"),
        (["limit", SIMPLE, "--level", "nan"], "not in (0, 1)"),
        (["limit", SIMPLE, "--scan", "0:2:0"], "has no points"),
        (["limit", SIMPLE, "--scan", "2:0:5"], "LO must be below HI"),
        (["limit", SIMPLE, "--scan", "0:nan:5"], "expected a finite number"),
        (["limit", SIMPLE, "--scan", "0:2:10000000"], "at most 100000"),
        (["scan", SIMPLE, "--range", "0:x:5"], "expected LO:HI:N"),
        (["scan", SIMPLE, "--range=-1:1:5"], "outside the bounds [0, 10] of mu"),
        (["scan", SIMPLE, "--par", "mu", "--par", "mu"], "given twice"),
    ],
)
def test_invalid_requests_exit_2_before_any_work(tmp_path, args, fragment):
    out = tmp_path / "out.json"
    line = one_error_line(hifit(*args, "-o", out), 2)
    assert fragment in line
    assert not out.exists()


def test_fixed_poi_is_refused_by_hypothesis_tests(tmp_path):
    spec = json.loads(SIMPLE.read_text())
    spec["measurements"][0]["config"]["parameters"] = [
        {"name": "mu", "fixed": True, "inits": [1.0]}
    ]
    path = tmp_path / "fixed_poi.json"
    path.write_text(json.dumps(spec))
    for command in ("cls", "limit", "significance", "ranking"):
        assert "is fixed in the model" in one_error_line(hifit(command, path), 2)


def test_scan_range_that_does_not_bracket_the_limit_is_an_input_error(tmp_path):
    out = tmp_path / "limit.json"
    line = one_error_line(hifit("limit", SIMPLE, "--scan", "0:0.2:3", "-o", out), 2)
    assert "does not bracket every limit" in line and "widen it" in line
    assert not out.exists()


def test_2d_scan_matches_pyhf_on_a_two_parameter_model(tmp_path):
    """With two parameters nothing is profiled: each grid point is pyhf's -2 ln L."""
    pyhf = pytest.importorskip("pyhf")
    out = tmp_path / "scan.json"
    proc = hifit(
        "scan",
        COUPLED,
        "--par",
        "mu",
        "--par",
        "coupled_normsys",
        "--range",
        "0:2:5",
        "--range=-1:1:4",
        "-o",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mu \\ coupled_normsys" in proc.stdout
    result = json.loads(out.read_text())
    ws = pyhf.Workspace(json.loads(COUPLED.read_text()))
    model = ws.model()
    data = ws.data(model)
    best = pyhf.infer.mle.fit(data, model, return_fitted_val=True)[1]
    xs, ys = np.linspace(0, 2, 5), np.linspace(-1, 1, 4)
    names = model.config.par_names
    expected = np.empty((5, 4))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            pars = np.zeros(2)
            pars[names.index("mu")], pars[names.index("coupled_normsys")] = x, y
            expected[i, j] = -2 * model.logpdf(pars, data)[0] - float(best)
    assert np.allclose(result["delta_twice_nll"], expected, rtol=1e-6, atol=1e-6)


def test_2d_scan_in_python_takes_numpy_arrays():
    import hifit

    ws = hifit.Workspace.load(COUPLED)
    model = ws.model()
    data = ws.data(model)
    xs, ys = np.linspace(0, 2, 3), np.linspace(-1, 1, 2)
    r = hifit.infer.scan(data, model, ["mu", "coupled_normsys"], xs, ys)
    assert r.delta_twice_nll.shape == (3, 2) and r.valid.all()
    one = hifit.infer.scan(data, model, "coupled_normsys", ys, jobs=1)
    # a 2D point equals the 1D profile when the other parameter sits where 1D put it
    assert r.twice_nll.min() >= one.twice_nll.min() - 1e-9


def test_signal_grid_without_output_prints_its_table(tmp_path):
    example = DATA / "pyhf-tests" / "test_patchset"
    proc = hifit(
        "cls",
        example / "example_bkgonly.json",
        "--patchset",
        example / "example_patchset.json",
    )
    assert proc.returncode == 0, proc.stderr
    head, row = proc.stdout.splitlines()[:2]
    assert head.split()[0] == "patch" and "CLs_obs" in head
    assert row.split()[0] == "patch_channel1_signal_syst1"


def test_json_never_holds_nan_or_infinity(tmp_path):
    from hifit.io import write_json_atomic

    out = tmp_path / "x.json"
    write_json_atomic(
        out,
        {"a": math.nan, "b": [1.0, math.inf, np.float64("-inf")], "c": np.array([1.5])},
    )
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.0, None, None], "c": [1.5]}


def one_bin(signal, background=100.0):
    return counting([signal], [background], [background])


def test_limit_beyond_the_poi_bound_says_so_and_matches_pyhf(tmp_path):
    """One bin s = 1, b = n = 100: the limit (~21) lies beyond mu's bound of 10."""
    pyhf = pytest.importorskip("pyhf")
    path, out = tmp_path / "ws.json", tmp_path / "limit.json"
    path.write_text(json.dumps(one_bin(1.0)))
    proc = hifit("limit", path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "note: beyond the POI's upper bound 10 (observed" in proc.stdout
    result = json.loads(out.read_text())
    ws = pyhf.Workspace(one_bin(1.0))
    model = ws.model()
    # pyhf's CLs at hifit's limit is the level (with mu's bound widened)
    cls = pyhf.infer.hypotest(
        result["observed"], ws.data(model), model, par_bounds=[(0, 100)]
    )
    assert float(cls) == pytest.approx(0.05, abs=1e-4)
    assert "beyond" in result["notes"] and result["valid"]


def test_limit_without_sensitivity_is_null_with_a_note(tmp_path):
    path, out = tmp_path / "ws.json", tmp_path / "limit.json"
    path.write_text(json.dumps(one_bin(1e-12)))
    proc = hifit("limit", path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "observed upper limit: none" in proc.stdout
    result = json.loads(out.read_text())
    assert result["observed"] is None and result["expected"] == [None] * 5
    assert result["notes"].startswith("no sensitivity: CLs stays above the level")


def test_poi_range_without_zero_is_refused_by_hypothesis_tests():
    """pyhf's own test workspace whose POI is a shapesys gamma in [1e-10, 10]: the
    background-only hypothesis lies outside its range (pyhf refuses it too)."""
    path = DATA / "pyhf-tests" / "test_modifiers" / "issue1720_greedy_staterror.json"
    for command in ("cls", "limit", "significance"):
        line = one_error_line(hifit(command, path), 2)
        assert "exclude the background-only hypothesis" in line
