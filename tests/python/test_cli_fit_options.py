"""--fix/--freeze NAME[=VALUE] and --asimov on every inference command, against
cabinetry (fit, limit, significance, scan, ranking with init_pars/fix_pars on
model_utils.asimov_data) and pyhf (hypotest with fixed_params) on the same workspaces,
computed in this run; and the POI line under the `hifit fit` table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cabinetry
import numpy as np
import pyhf
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
# mu and two shapesys: one can be fixed and the other ranked
SIMPLE = (
    DATA
    / "validation-workspaces"
    / "simplemodels_uncorrelated_background_doc_example.json"
)
# a normfactor, a normsys and a histosys, the best fit inside the bounds: the Asimov
# data set differs from the observed one, and one nuisance stays free when the other
# is fixed (pyhf's Minuit refuses fits with every parameter fixed)
SPEC = {
    "channels": [
        {
            "name": "SR",
            "samples": [
                {
                    "name": "signal",
                    "data": [10.0, 20.0],
                    "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                },
                {
                    "name": "bkg",
                    "data": [50.0, 60.0],
                    "modifiers": [
                        {"name": "bkg_norm", "type": "normsys",
                         "data": {"hi": 1.1, "lo": 0.92}},
                        {"name": "shape", "type": "histosys",
                         "data": {"lo_data": [45.0, 63.0], "hi_data": [56.0, 58.0]}},
                    ],
                },
            ],
        }
    ],
    "observations": [{"name": "SR", "data": [63.0, 77.0]}],
    "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    "version": "1.0.0",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_pyhf_backend():
    """pyhf's optimizer is global state: these tests switch it to MINUIT (as
    cabinetry does); later test files expect the one they found."""
    tensorlib, optimizer = pyhf.get_backend()
    yield
    pyhf.set_backend(tensorlib, optimizer)


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ws") / "ws.json"
    path.write_text(json.dumps(SPEC))
    return path


# cabinetry's fits stop at EDM < 2e-4 unless told otherwise
TIGHT = 1e-6


def hifit_json(tmp_path: Path, *args: object) -> dict:
    """The -o document of a command that succeeds (run in this process: the exit
    codes and one-line errors of main() are tested with subprocesses below)."""
    from click.testing import CliRunner

    from hifit.cli import cli

    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        cli, [*map(str, args), "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def pyhf_model(path: Path):
    """pyhf's model of the workspace as hifit's commands build it (pyhf's default
    interpolation codes), its observed data and cabinetry's Asimov data."""
    pyhf.set_backend("numpy", "minuit")
    ws = pyhf.Workspace(json.loads(path.read_text()))
    model = ws.model()
    asimov = cabinetry.model_utils.asimov_data(model)
    return model, ws.data(model), asimov


def fixed_setup(model, fixes: dict[str, float | None]):
    init, fixed = model.config.suggested_init(), model.config.suggested_fixed()
    for name, value in fixes.items():
        i = model.config.par_names.index(name)
        init[i] = init[i] if value is None else value
        fixed[i] = True
    return init, fixed


# (hifit arguments, the parameters they fix, whether the data set is Asimov)
CASES = {
    "fix-value": (["--fix", "shape=0.5"], {"shape": 0.5}, False),
    "asimov": (["--asimov"], {}, True),
    "asimov-freeze-init": (
        ["--asimov", "--freeze", "bkg_norm"],
        {"bkg_norm": None},
        True,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_fit_matches_cabinetry(tmp_path, ws_path, case):
    args, fixes, asimov = CASES[case]
    got = hifit_json(tmp_path, "fit", ws_path, *args)
    model, data, asimov_data = pyhf_model(ws_path)
    init, fixed = fixed_setup(model, fixes)
    ref = cabinetry.fit.fit(
        model, asimov_data if asimov else data, init_pars=init, fix_pars=fixed,
        tolerance=TIGHT,
    )  # fmt: skip
    assert got["data"] == ("asimov" if asimov else "observed")
    pars = {p["name"]: p for p in got["parameters"]}
    for i, name in enumerate(ref.labels):
        assert pars[name]["fixed"] == fixed[i]
        assert pars[name]["value"] == pytest.approx(ref.bestfit[i], abs=1e-4)
        # Minuit's numerical HESSE: 2 % as in test_cabinetry_workflow
        assert pars[name]["uncertainty"] == pytest.approx(
            ref.uncertainty[i], rel=0.02, abs=1e-6
        )
    assert got["twice_nll"] == pytest.approx(ref.best_twice_nll, abs=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_cls_matches_pyhf(tmp_path, ws_path, case):
    args, fixes, asimov = CASES[case]
    got = hifit_json(tmp_path, "cls", ws_path, "--mu", "1.0", *args)
    model, data, asimov_data = pyhf_model(ws_path)
    init, fixed = fixed_setup(model, fixes)
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=TIGHT))
    obs, expected = pyhf.infer.hypotest(
        1.0, asimov_data if asimov else data, model, init_pars=init,
        fixed_params=fixed, test_stat="qtilde", return_expected_set=True,
    )  # fmt: skip
    assert got["CLs_obs"] == pytest.approx(float(obs), rel=1e-4)
    np.testing.assert_allclose(got["CLs_exp"], np.ravel(expected), rtol=1e-4)


# cabinetry's limits take seconds each: the case that has both options
@pytest.mark.parametrize("case", ["asimov-freeze-init"])
def test_limit_matches_cabinetry(tmp_path, ws_path, case):
    args, fixes, asimov = CASES[case]
    got = hifit_json(tmp_path, "limit", ws_path, *args)
    model, data, asimov_data = pyhf_model(ws_path)
    init, fixed = fixed_setup(model, fixes)
    ref = cabinetry.fit.limit(
        model, asimov_data if asimov else data, init_pars=init, fix_pars=fixed,
        poi_tolerance=1e-4, tolerance=TIGHT,
    )  # fmt: skip
    assert got["observed"] == pytest.approx(ref.observed_limit, rel=1e-3)
    np.testing.assert_allclose(got["expected"], ref.expected_limit, rtol=1e-3)


@pytest.mark.parametrize("case", CASES)
def test_significance_matches_cabinetry(tmp_path, ws_path, case):
    args, fixes, asimov = CASES[case]
    got = hifit_json(tmp_path, "significance", ws_path, *args)
    model, data, asimov_data = pyhf_model(ws_path)
    init, fixed = fixed_setup(model, fixes)
    ref = cabinetry.fit.significance(
        model, asimov_data if asimov else data, init_pars=init, fix_pars=fixed
    )
    assert got["observed_significance"] == pytest.approx(
        ref.observed_significance, rel=1e-3, abs=1e-4
    )
    assert got["expected_significance"] == pytest.approx(
        ref.expected_significance, rel=1e-3
    )


@pytest.mark.parametrize("case", ["fix-value", "asimov"])
def test_scan_matches_cabinetry(tmp_path, ws_path, case):
    args, fixes, asimov = CASES[case]
    got = hifit_json(tmp_path, "scan", ws_path, "--range", "0:2:5", *args)
    model, data, asimov_data = pyhf_model(ws_path)
    init, fixed = fixed_setup(model, fixes)
    ref = cabinetry.fit.scan(
        model, asimov_data if asimov else data, "mu", par_range=(0.0, 2.0),
        n_steps=5, init_pars=init, fix_pars=fixed, tolerance=TIGHT,
    )  # fmt: skip
    np.testing.assert_allclose(got["values"], ref.parameter_values)
    # cabinetry's delta_nlls are -2 Δln L
    np.testing.assert_allclose(got["delta_twice_nll"], ref.delta_nlls, atol=1e-5)


@pytest.mark.parametrize("asimov", [False, True])
def test_ranking_with_a_fixed_parameter_matches_cabinetry(tmp_path, asimov):
    args = ["--fix", "uncorr_bkguncrt[0]=1.05"] + (["--asimov"] if asimov else [])
    got = hifit_json(tmp_path, "ranking", SIMPLE, *args)
    model, data, asimov_data = pyhf_model(SIMPLE)
    init, fixed = fixed_setup(model, {"uncorr_bkguncrt[0]": 1.05})
    ref = cabinetry.fit.ranking(
        model, asimov_data if asimov else data, init_pars=init, fix_pars=fixed,
        tolerance=TIGHT,
    )  # fmt: skip
    fields = ("prefit_up", "prefit_down", "postfit_up", "postfit_down")
    # cabinetry also lists the fixed parameter (shifting its fixed value); hifit
    # ranks the free ones only
    assert ref.labels == ["uncorr_bkguncrt[0]", "uncorr_bkguncrt[1]"]
    assert [p["name"] for p in got["parameters"]] == ["uncorr_bkguncrt[1]"]
    row = got["parameters"][0]
    for field in fields:
        assert row[field] == pytest.approx(getattr(ref, field)[1], abs=1e-4), field


def test_fix_and_freeze_are_synonyms_and_take_comma_lists(tmp_path):
    a = hifit_json(tmp_path, "fit", SIMPLE, "--fix", "mu=0.5,uncorr_bkguncrt[1]")
    b = hifit_json(
        tmp_path, "fit", SIMPLE, "--freeze", "mu=0.5", "--freeze", "uncorr_bkguncrt[1]"
    )
    assert a["parameters"] == b["parameters"]
    pars = {p["name"]: p for p in a["parameters"]}
    assert pars["mu"]["value"] == 0.5 and pars["mu"]["fixed"]
    # without a value: at its initial value
    init = pyhf_model(SIMPLE)[0].config.suggested_init()
    assert pars["uncorr_bkguncrt[1]"]["value"] == init[2]
    assert pars["uncorr_bkguncrt[1]"]["fixed"]


def run(*args: object) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hifit.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        # more in test_bad_input_table
        (["limit", SIMPLE, "--freeze", "mu"], "'mu' is fixed by --fix"),
        (["scan", SIMPLE, "--fix", "mu"], "'mu' is fixed by --fix; a scan needs it"),
        (["significance", SIMPLE, "--fix", "mu=inf"], "expected a finite number"),
        (["fit", SIMPLE, "--fix", "mu=1,mu"], "'mu' is given twice"),
        (["fit", SIMPLE, "--fix", "=1"], "expected NAME or NAME=VALUE"),
        (["fit", SIMPLE, "--fix", "mu=one"], "expected NAME or NAME=VALUE"),
    ],
)
def test_bad_fixes_exit_2_with_one_line(args, fragment):
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def test_poi_line_under_the_fit_table(tmp_path, ws_path):
    """The POI line repeats the table's numbers: the Hessian error, or MINOS'
    interval when MINOS ran on the POI."""
    out = tmp_path / "fit.json"
    proc = run("fit", ws_path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    mu = next(p for p in json.loads(out.read_text())["parameters"] if p["name"] == "mu")
    line = proc.stdout.strip().splitlines()[-1]
    assert line == f"mu = {mu['value']:.6f} ± {mu['uncertainty']:.6f} (68% CL, Hessian)"
    proc = run("fit", ws_path, "--minos", "mu", "--asimov", "-o", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    lo, hi = doc["minos"]["mu"]
    value = next(p["value"] for p in doc["parameters"] if p["name"] == "mu")
    assert proc.stdout.strip().splitlines()[-1] == (
        f"mu = {value:.6f} +{hi:.6f} -{abs(lo):.6f} (68% CL, MINOS, Asimov data)"
    )
    proc = run("fit", ws_path, "--fix", "mu=2")
    assert proc.stdout.strip().splitlines()[-1] == "mu = 2.000000 (fixed)"


COUNTING_CARD = (
    DATA
    / ".."
    / "combine"
    / "tutorials"
    / "counting"
    / "realistic-counting-experiment.txt"
)


def test_asimov_on_a_card_is_combines_t_minus_1(tmp_path):
    """On a datacard --asimov is Combine's -t -1 (a-priori, r at --expectSignal 0):
    the data set and the fit are those of `hifit combine -M MultiDimFit -t -1`'s
    setup (hifit.combine.setup), with and without a frozen nuisance."""
    import hifit
    from hifit.combine import options, setup

    for fix in ([], ["bg_others"]):
        args = ["--freeze", ",".join(fix)] if fix else []
        got = hifit_json(tmp_path, "fit", COUNTING_CARD, "--asimov", *args)
        argv = [str(COUNTING_CARD), "-M", "MultiDimFit", "-t", "-1", "--mass", "120"]
        if fix:
            argv += ["--freezeParameters", ",".join(fix)]
        ref = setup.build(options.parse(argv))
        fit = hifit.infer.fit(ref.data, ref.model, **ref.fit_kwargs())
        assert got["data"] == "asimov"
        values = [p["value"] for p in got["parameters"]]
        assert [p["name"] for p in got["parameters"]] == ref.model.config.par_names
        np.testing.assert_allclose(values, fit.bestfit, atol=1e-6)
        assert got["twice_nll"] == pytest.approx(fit.twice_nll, abs=1e-6)
        assert [p["fixed"] for p in got["parameters"]] == list(fit.fixed)


def test_toy_cls_prints_and_writes_its_monte_carlo_error(tmp_path, ws_path):
    """`hifit cls --calctype toybased` (pyhf's name) is `--toys`: CLs ± its error, the
    error in JSON; the error is Combine's propagation of the binomial errors of the
    toy counts, computed in numpy from the same toys (same seed) thrown in Python."""
    import hifit

    out = tmp_path / "cls.json"
    args = ["cls", ws_path, "--toys", "300", "--seed", "7", "--fix", "shape=0.2"]
    proc = run(*args, "--calctype", "toybased", "-o", out)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["calculator"] == "toys" and doc["ntoys"] == 300
    assert f"CLs_obs = {doc['CLs_obs']:.6g} ± {doc['CLs_obs_error']:.2g}" in proc.stdout
    ws = hifit.Workspace(SPEC)
    model = ws.model()
    init, fixed = fixed_setup(model, {"shape": 0.2})
    toys = hifit.infer.toys.hypotest(
        1.0, ws.data(model), model, ntoys=300, seed=7, jobs=1,
        init_pars=init, fixed_params=fixed,
    )  # fmt: skip
    clsb, clb = np.mean(toys.q_sb >= toys.q_obs), np.mean(toys.q_b >= toys.q_obs)
    err_sb, err_b = np.sqrt(clsb * (1 - clsb) / 300), np.sqrt(clb * (1 - clb) / 300)
    error = np.sqrt(err_sb**2 + err_b**2 * (clsb / clb) ** 2) / clb
    assert doc["CLs_obs"] == pytest.approx(clsb / clb, rel=1e-12)
    assert doc["CLs_obs_error"] == pytest.approx(error, rel=1e-12)
    proc = run(*args, "--calctype", "asymptotics")
    assert proc.returncode == 2 and "--calctype" in proc.stderr
