"""`hifit combine`'s command line: Combine's option names, kinds and defaults
(parsed as boost::program_options parses them), what each parameter option does to
the fit (checked against hifit.infer run in the test with the same settings), and
the exit codes of bad command lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import uproot
from scipy import stats

from hifit.combine import OptionError, parse, run
from hifit.combine._option_table import COMMON, METHOD
from hifit.combine.setup import build
from hifit.datacard import load_model
from hifit.infer import fit, fixed_poi_fit, scan, significance, upper_limit
from hifit.infer.scans import minos
from hifit.infer.toys import sample, sample_prior

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
COUNTING = str(DATA / "tutorials" / "counting" / "realistic-counting-experiment.txt")
LNN_ONLY = str(DATA / "tutorials" / "statistical_routines_tutorial" / "datacard.txt")
GROUPS = str(DATA / "tutorials" / "groups" / "groupnuisA.txt")
TWO_POIS = str(DATA / "tutorials" / "multiDim" / "toy-hgg-125.txt")
PO = ["--PO", "map=.*/ggH:r_ggH[1,-5,5]", "--PO", "map=.*/qqH:r_qqH[1,-5,10]"]


# --- parsing ----------------------------------------------------------------------


def test_defaults_are_combines():
    opts = parse([COUNTING])
    assert (opts.method, opts.mass, opts.name, opts.seed) == (
        "AsymptoticLimits", 120.0, "Test", 123456)  # fmt: skip
    assert (opts.toys, opts.cl, opts.run, opts.expect_signal) == (0, 0.95, "both", 0.0)
    assert opts.output_name() == "higgsCombineTest.AsymptoticLimits.mH120.root"


def test_value_forms():
    opts = parse([COUNTING, "-M", "Significance", "-m125.5", "--name=.x", "-t", "-1",
                  "--expectSignal", "1", "--toysFrequentist", "-s", "7"])  # fmt: skip
    assert (opts.mass, opts.name, opts.toys, opts.seed) == (125.5, ".x", -1, 7)
    assert opts.toys_frequentist and opts.expect_signal == 1.0
    # a seed other than the default goes into the name, as Combine names it
    assert opts.output_name() == "higgsCombine.x.Significance.mH125.5.7.root"


def test_toys_and_keywords_in_the_file_name():
    opts = parse([COUNTING, "-t", "5", "--keyword-value", "YEAR=2018"])
    assert opts.output_name() == (
        "higgsCombineTest.AsymptoticLimits.mH120.YEAR2018.123456.root"
    )
    assert opts.keywords == {"YEAR": "2018"}


def test_repeatable_bool_and_flag_options():
    opts = parse([COUNTING, "-M", "MultiDimFit", "-P", "a", "--parameters", "b",
                  "--floatOtherPOIs", "1", "--alignEdges=true", "--saveNLL",
                  "--X-rtd", "MINIMIZER_analytic", "--points", "7"])  # fmt: skip
    assert opts.extra["parameters"] == ["a", "b"]
    assert opts.extra["floatOtherPOIs"] is True and opts.extra["alignEdges"] is True
    assert opts.extra["saveNLL"] is True and opts.points == 7
    assert opts.ignored() == ["X-rtd"]


def test_every_option_of_combine_is_known():
    # each option of the table parses for its method (flags bare, others a value)
    for method, table in [("AsymptoticLimits", COMMON), *METHOD.items()]:
        for spec, kind in table.items():
            name = spec.partition(",")[0]
            if name in ("datacard", "method", "help") or kind == "flag":
                continue
            value = {"int": "1", "float": "1", "bool": "1"}.get(kind, "x")
            try:
                parse([COUNTING, "-M", method, f"--{name}", value])
            except OptionError as err:  # a value refused, never the option
                assert "unrecognised" not in str(err), err
                assert "is an option of" not in str(err), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rMn", "3"], "did you mean --rMin"),
        (["--algo", "grid"], "--algo is an option of -M MultiDimFit"),
        (["-M", "Signifcance"], "did you mean Significance"),
        (["-t", "-2"], "-t -2"),
        (["--cl", "95"], "--cl"),
        (["--run", "blinded"], "--run"),
        (["--mass", "abc"], "invalid float"),
        (["--toysFrequentist=1"], "takes no value"),
        (["--pickToy", "2"], "not supported"),
        (["--keyword-value", "YEAR"], "WORD=VALUE"),
        (["-m"], "expects a value"),
        (["-S", "0"], "unrecognised option '-S'"),  # commented out in Combine.cc
        (["--minimizerAlgo", "Minuit2"], "unrecognised option"),
    ],
)
def test_bad_command_lines(args, message):
    with pytest.raises(OptionError, match=message.replace("-", r"\-")):
        parse([COUNTING, *args])


def test_one_datacard():
    with pytest.raises(OptionError, match="missing datacard"):
        parse(["-M", "Significance"])
    with pytest.raises(OptionError, match="one datacard expected"):
        parse([COUNTING, COUNTING])


# --- what the options do ------------------------------------------------------------


def test_freeze_all_constrained_nuisances():
    setup = build(parse([COUNTING, "--freezeParameters", "allConstrainedNuisances"]))
    config = setup.model.config
    constrained = [
        "unconstrained" not in str(p.constraint)
        for p in config.paramsets
        for _ in range(p.size)
    ]
    assert setup.fixed == [
        f or c for f, c in zip(config.suggested_fixed(), constrained, strict=True)
    ]
    assert not setup.fixed[config.poi_index]


def test_freeze_names_and_regex():
    built = load_model(COUNTING, mass=120)
    names = built.model.config.par_names
    nuisances = [n for n in names if n != "r"]
    setup = build(
        parse(
            [
                COUNTING,
                "--freezeParameters",
                f"{nuisances[0]},rgx{{{nuisances[1][:3]}.*}}",
            ]
        )
    )
    frozen = {n for n, f in zip(names, setup.fixed, strict=True) if f}
    assert frozen == {nuisances[0]} | {
        n for n in names if n.startswith(nuisances[1][:3])
    }
    # unknown names are skipped with a warning, as Combine skips them; MH (in every
    # Combine workspace) silently
    lenient = build(parse([COUNTING, "--freezeParameters", f"MH,{nuisances[0]}x"]))
    assert lenient.fixed == build(parse([COUNTING])).fixed
    assert lenient.warnings == [
        f"--freezeParameters: no parameter named '{nuisances[0]}x', ignored "
        f"(did you mean {nuisances[0]}?)"
    ]


def test_set_parameters():
    names = load_model(COUNTING, mass=120).model.config.par_names
    nuisances = [n for n in names if n != "r"]
    setup = build(
        parse([COUNTING, "--setParameters", f"r=2,rgx{{{nuisances[0]}}}=0.5"])
    )
    assert setup.init[setup.index("r")] == 2.0
    assert setup.init[setup.index(nuisances[0])] == 0.5
    # Combine refuses a value outside the range
    with pytest.raises(OptionError, match=r"value 30 is outside its range \[0, 20\]"):
        build(parse([COUNTING, "--setParameters", "r=30"]))
    assert build(parse([COUNTING, "--setParameters", "MH=125"])).warnings == []


def test_freeze_nuisance_groups():
    names = load_model(GROUPS, mass=120).model.config.par_names
    setup = build(parse([GROUPS, "--freezeNuisanceGroups", "theo"]))
    frozen = {n for n, f in zip(names, setup.fixed, strict=True) if f}
    assert frozen == {"theo_bkgww", "theo_ggH"}  # the card's `theo group = ...`
    complement = build(parse([GROUPS, "--freezeNuisanceGroups", "^theo"]))
    frozen = {n for n, f in zip(names, complement.fixed, strict=True) if f}
    assert "theo_ggH" not in frozen and "lumi" in frozen and "r" not in frozen
    with pytest.raises(OptionError, match="did you mean theo"):
        build(parse([GROUPS, "--freezeNuisanceGroups", "thoe"]))


def run_here(tmp_path, monkeypatch, args) -> dict:
    monkeypatch.chdir(tmp_path)
    for old in tmp_path.glob("higgsCombine*.root"):
        old.unlink()
    assert run(args) == 0
    (path,) = tmp_path.glob("higgsCombine*.root")
    return uproot.open(path)["limit"].arrays(library="np")


def test_frozen_nuisances_shrink_the_interval_as_hifit_infer(tmp_path, monkeypatch):
    args = [COUNTING, "-M", "MultiDimFit", "--algo", "singles",
            "--freezeParameters", "allConstrainedNuisances"]  # fmt: skip
    tree = run_here(tmp_path, monkeypatch, args)
    setup = build(parse(args))
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    level = stats.chi2.ppf(0.68, 1)  # a counting card: Combine's errorlevel
    interval = minos(
        setup.data, setup.model, "r", fit_result=best, delta_twice_nll=level,
        **setup.fit_kwargs(),
    )["r"]  # fmt: skip
    r = best.bestfit[setup.model.config.poi_index]
    np.testing.assert_allclose(
        tree["r"], [r, r + interval.lower, r + interval.upper], rtol=1e-6
    )


def test_parameter_ranges_and_grid_edges(tmp_path, monkeypatch):
    args = [COUNTING, "-M", "MultiDimFit", "--algo", "grid", "--points", "5",
            "--setParameterRanges", "r=0,4"]  # fmt: skip
    tree = run_here(tmp_path, monkeypatch, args)
    np.testing.assert_allclose(tree["r"][1:], [0.4, 1.2, 2.0, 2.8, 3.6], rtol=1e-6)
    aligned = run_here(tmp_path, monkeypatch, [*args, "--alignEdges", "1"])
    np.testing.assert_allclose(aligned["r"][1:], [0.0, 1.0, 2.0, 3.0, 4.0], rtol=1e-6)
    window = run_here(
        tmp_path, monkeypatch, [*args, "--firstPoint", "1", "--lastPoint", "2"]
    )
    np.testing.assert_allclose(window["r"][1:], [1.2, 2.0], rtol=1e-6)
    # deltaNLL: the profile scan of hifit.infer, relative to the best fit
    setup = build(parse(args))
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    ref = scan(
        setup.data, setup.model, "r", [0.4, 1.2, 2.0, 2.8, 3.6], **setup.fit_kwargs()
    )
    np.testing.assert_allclose(
        tree["deltaNLL"][1:], (ref.twice_nll - best.twice_nll) / 2, rtol=1e-5, atol=1e-6
    )


def test_rmin_rmax_set_the_first_poi_range(tmp_path, monkeypatch):
    setup = build(parse([COUNTING, "--rMin", "-1", "--rMax", "3"]))
    i = setup.model.config.poi_index
    assert setup.bounds[i] == (-1.0, 3.0)
    assert setup.init[i] == 1.0  # Combine starts r at the middle of the range


def test_fixed_point(tmp_path, monkeypatch):
    args = [
        COUNTING,
        "-M",
        "MultiDimFit",
        "--algo",
        "fixed",
        "--fixedPointPOIs",
        "r=2",
        "--saveNLL",
    ]
    tree = run_here(tmp_path, monkeypatch, args)
    setup = build(parse(args))
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    at = fixed_poi_fit(2.0, setup.data, setup.model, **setup.fit_kwargs())
    assert tree["r"][1] == 2.0
    assert tree["deltaNLL"][1] == pytest.approx(
        (at.twice_nll - best.twice_nll) / 2, rel=1e-5
    )
    # Combine's order and meaning: nll, nll0 before the POIs, relative to the NLL
    # at the starting point; the fixed point's nll0 is the best fit
    assert list(tree)[10:] == ["nll", "nll0", "r", "deltaNLL"]
    start = setup.model.twice_nll(setup.init, setup.data) / 2
    assert tree["nll"][0] == pytest.approx(best.twice_nll / 2 - start, rel=1e-9)
    assert tree["nll0"][0] == 0.0
    assert tree["nll"][1] == pytest.approx(at.twice_nll / 2 - start, rel=1e-9)
    assert tree["nll0"][1] == pytest.approx(best.twice_nll / 2 - start, rel=1e-9)


def test_two_pois_from_physics_model_options(tmp_path, monkeypatch):
    args = [TWO_POIS, "-m", "125", "-M", "MultiDimFit", "--algo", "singles", *PO]
    tree = run_here(tmp_path, monkeypatch, args)
    assert list(tree)[10:] == ["r_ggH", "r_qqH", "deltaNLL"]
    np.testing.assert_array_equal(
        tree["quantileExpected"], np.float32([-1, -0.32, 0.32, -0.32, 0.32])
    )
    setup = build(parse(args))
    assert setup.pois == ["r_ggH", "r_qqH"]
    assert setup.bounds[setup.index("r_qqH")] == (-5.0, 10.0)
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    found = minos(
        setup.data, setup.model, ["r_ggH", "r_qqH"], fit_result=best,
        delta_twice_nll=stats.chi2.ppf(0.68, 1), **setup.fit_kwargs(),
    )  # fmt: skip
    for k, poi in enumerate(["r_ggH", "r_qqH"]):
        centre = best.bestfit[setup.index(poi)]
        ends = tree[poi][1 + 2 * k : 3 + 2 * k]
        np.testing.assert_allclose(
            ends, [centre + found[poi].lower, centre + found[poi].upper], rtol=1e-5
        )


def test_two_poi_grid_and_other_pois_frozen(tmp_path, monkeypatch):
    args = [TWO_POIS, "-m", "125", "-M", "MultiDimFit", "--algo", "grid",
            "--points", "9", *PO]  # fmt: skip
    tree = run_here(tmp_path, monkeypatch, args)
    xs, ys = (
        [-5 + 10 * (i + 0.5) / 3 for i in range(3)],
        [-5 + 15 * (j + 0.5) / 3 for j in range(3)],
    )
    np.testing.assert_allclose(tree["r_ggH"][1:], np.repeat(xs, 3), rtol=1e-6)
    np.testing.assert_allclose(tree["r_qqH"][1:], np.tile(ys, 3), rtol=1e-6)
    setup = build(parse(args))
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    ref = scan(
        setup.data, setup.model, ["r_ggH", "r_qqH"], xs, ys, **setup.fit_kwargs()
    )
    expected = ((ref.twice_nll - best.twice_nll) / 2).reshape(-1)
    ok = ref.valid.reshape(-1)
    np.testing.assert_allclose(tree["deltaNLL"][1:], expected[ok], rtol=1e-5, atol=1e-6)
    # -P r_ggH: r_qqH frozen at its start (Combine's default --floatOtherPOIs 0);
    # one degree of freedom in quantileExpected
    args_1d = [*args[:-6], "--points", "4", *PO]
    assert args_1d[-7:-4] == ["grid", "--points", "4"]
    one = run_here(
        tmp_path, monkeypatch, [*args_1d, "-P", "r_ggH", "--saveInactivePOI", "1"]
    )
    assert list(one)[10:] == ["r_ggH", "r_qqH", "deltaNLL"]
    assert set(one["r_qqH"]) == {1.0}
    fixed = list(setup.fixed)
    fixed[setup.index("r_qqH")] = True
    kw = {**setup.fit_kwargs(), "fixed_params": fixed}
    best1 = fit(setup.data, setup.model, **kw)
    ref1 = scan(setup.data, setup.model, "r_ggH", one["r_ggH"][1:], **kw)
    np.testing.assert_allclose(
        one["deltaNLL"][1:],
        (ref1.twice_nll - best1.twice_nll) / 2,
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        one["quantileExpected"][1:],
        stats.chi2.sf(2 * one["deltaNLL"][1:], 1),
        rtol=1e-4,
    )


def test_redefine_signal_pois(tmp_path, monkeypatch):
    args = [
        TWO_POIS,
        "-m",
        "125",
        "-M",
        "AsymptoticLimits",
        *PO,
        "--redefineSignalPOIs",
        "r_qqH",
    ]
    tree = run_here(tmp_path, monkeypatch, args)
    built = load_model(TWO_POIS, mass=125, poi_map=[("ggH", "r_ggH"), ("qqH", "r_qqH")])
    setup = build(parse(args))
    assert setup.model.config.poi_name == "r_qqH"
    ref = upper_limit(
        setup.data, setup.model, convention="combine", **setup.fit_kwargs()
    )
    np.testing.assert_allclose(tree["limit"], [*ref.expected, ref.observed], rtol=1e-9)
    # r_ggH: not a POI any more, so it floats from its start
    assert not setup.fixed[setup.index("r_ggH")]
    assert built.model.config.poi_name != "r_qqH"


def test_limits_cl_and_run_modes(tmp_path, monkeypatch):
    both = run_here(tmp_path, monkeypatch, [COUNTING, "--cl", "0.9"])
    built = load_model(COUNTING, mass=120)
    ref = upper_limit(built.data, built.model, level=0.1, convention="combine")
    np.testing.assert_allclose(both["limit"], [*ref.expected, ref.observed], rtol=1e-9)
    observed = run_here(
        tmp_path, monkeypatch, [COUNTING, "--cl", "0.9", "--run", "observed"]
    )
    np.testing.assert_array_equal(observed["limit"], both["limit"][-1:])
    expected = run_here(
        tmp_path, monkeypatch, [COUNTING, "--cl", "0.9", "--run", "expected"]
    )
    np.testing.assert_array_equal(expected["limit"], both["limit"][:5])
    # blind: the background-only Asimov data set built without looking at the data
    # (on a card of lnN nuisances only: every nuisance at 0, the observed global
    # observables)
    blind = run_here(tmp_path, monkeypatch, [LNN_ONLY, "--run", "blind"])
    built = load_model(LNN_ONLY, mass=120)
    config = built.model.config
    pars = config.suggested_init()
    pars[config.poi_index] = 0.0
    expected = built.model.expected_data(pars, include_auxdata=False)
    asimov = np.concatenate([expected, built.data[config.nmaindata :]])
    ref = upper_limit(asimov, built.model, convention="combine")
    np.testing.assert_allclose(blind["limit"], ref.expected, rtol=1e-9)


@pytest.mark.parametrize("frequentist", [False, True])
def test_significance_toys(frequentist, tmp_path, monkeypatch):
    args = [
        COUNTING,
        "-M",
        "Significance",
        "-t",
        "3",
        "-s",
        "42",
        "--expectSignal",
        "1",
    ]
    args += ["--toysFrequentist"] if frequentist else []
    tree = run_here(tmp_path, monkeypatch, args)
    assert (tmp_path / "higgsCombineTest.Significance.mH120.42.root").is_file()
    np.testing.assert_array_equal(tree["iToy"], [1, 2, 3])
    setup = build(parse(args))
    i = setup.model.config.poi_index
    if frequentist:  # around the fit to data with r fixed at 1
        fixed = list(setup.fixed)
        fixed[i] = True
        init = list(setup.init)
        init[i] = 1.0
        pars = fit(setup.data, setup.model, init, setup.bounds, fixed).bestfit
    else:  # Combine's default: nuisances drawn, global observables as observed
        pars = list(setup.init)
        pars[i] = 1.0
    for k in range(3):
        if frequentist:
            toy = sample(setup.model, pars, seed=42, index=k + 1)
        else:
            toy = sample_prior(setup.model, pars, setup.data, setup.bounds,
                               setup.fixed, seed=42, index=k + 1)  # fmt: skip
            n = setup.model.config.nmaindata
            np.testing.assert_array_equal(toy[n:], setup.data[n:])
        z = significance(toy, setup.model, **setup.fit_kwargs(), convention="combine")
        assert tree["limit"][k] == pytest.approx(z.observed_significance, rel=1e-6)


# --- exit codes ----------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hifit.cli", "combine", *args],
        capture_output=True, text=True, cwd=cwd, check=False,
    )  # fmt: skip


def main_in_process(args: list[str], capsys) -> tuple[int, str, str]:
    from hifit.cli import main

    with pytest.raises(SystemExit) as done:
        main(["combine", *args])
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_exit_codes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = main_in_process(
        [COUNTING, "-M", "Significance", "--rMn", "3"], capsys
    )
    assert code == 2 and err.count("\n") == 1 and "did you mean --rMin" in err
    code, _, err = main_in_process(
        [str(tmp_path / "nope.txt"), "-M", "Significance"], capsys
    )
    assert code == 2 and err.count("\n") == 1
    code, _, err = main_in_process([COUNTING, "--setParameters", "r"], capsys)
    assert code == 2 and "NAME=VALUE" in err
    assert not list(tmp_path.glob("*.root"))  # nothing written before the checks
    # one real command line: the installed entry point, exit 0, the ignored option named
    good = cli(COUNTING, "-M", "Significance", "--cminDefaultMinimizerStrategy", "0",
               cwd=tmp_path)  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert "Significance: " in good.stdout
    assert "no effect" in good.stderr
    assert (tmp_path / "higgsCombineTest.Significance.mH120.root").is_file()


def test_physics_models(tmp_path, monkeypatch):
    xs = ["--physics-model", "HiggsAnalysis.CombinedLimit.PhysicsModel:floatingXSHiggs",
          "--PO", "modes=ggH,qqH", "--PO", "ggHRange=0:5"]  # fmt: skip
    setup = build(parse([TWO_POIS, "-m", "125", "-M", "MultiDimFit", *xs]))
    assert setup.pois == ["r_ggH", "r_qqH"]
    assert [setup.bounds[setup.index(p)] for p in setup.pois] == [(0, 5), (0, 10)]
    # the same model as the explicit map
    built = load_model(TWO_POIS, mass=125, poi_map=[("ggH", "r_ggH"), ("qqH", "r_qqH")])
    pars = np.array(built.model.config.suggested_init())
    np.testing.assert_array_equal(
        setup.model.expected_data(pars), built.model.expected_data(pars)
    )
    # map ...:1 leaves ggH unscaled; the order of the maps is the order of the POIs
    one = build(parse([TWO_POIS, "-m", "125", "--PO", "map=.*/ggH:1",
                       "--PO", "map=.*/qqH:r_qqH[1,0,20]"]))  # fmt: skip
    assert one.pois == ["r_qqH"]
    at_zero = list(one.init)
    at_zero[one.index("r_qqH")] = 0.0
    card = load_model(TWO_POIS, mass=125)  # one r on both signals, at 1
    both_at_one = card.model.expected_data(
        card.model.config.suggested_init(), include_auxdata=False
    )
    with_qqh = one.model.expected_data(one.init, include_auxdata=False)
    np.testing.assert_allclose(with_qqh, both_at_one)
    without = one.model.expected_data(at_zero, include_auxdata=False)
    assert np.all(without < with_qqh)  # only qqH removed: ggH stays
    order = build(parse([TWO_POIS, "-m", "125", "--PO", "map=.*/qqH:r_qqH[1,0,20]",
                         "--PO", "map=.*/ggH:r_ggH[1,0,10]"]))  # fmt: skip
    assert order.pois == ["r_qqH", "r_ggH"]
    with pytest.raises(OptionError, match="background"):
        build(parse([TWO_POIS, "-m", "125", "--PO", "map=.*/bkg:r_b[1,0,2]"]))
    with pytest.raises(OptionError, match="hifit has defaultModel"):
        build(parse([TWO_POIS, "--physics-model", "x:twoHypothesisHiggs"]))


@pytest.mark.parametrize(
    ("extra", "r"),
    [([], 0.0), (["--expectSignal", "1"], 1.0), (["--setParameters", "r=2"], 2.0),
     (["--setParameters", "r=2", "--expectSignal", "1"], 1.0)],
)  # fmt: skip
def test_asimov_generation_point(extra, r):
    # Combine.cc: r at --expectSignal (default 0) unless only --setParameters sets it;
    # on a card of lnN nuisances the a-priori Asimov data set is the expected rates
    # at the nominal nuisances with the observed global observables
    setup = build(parse([LNN_ONLY, "-M", "Significance", "-t", "-1", *extra]))
    built = load_model(LNN_ONLY, mass=120)
    pars = built.model.config.suggested_init()
    pars[built.model.config.poi_index] = r
    main = built.model.expected_data(pars, include_auxdata=False)
    np.testing.assert_allclose(setup.data[: len(main)], main, rtol=1e-12)
    np.testing.assert_array_equal(setup.data[len(main) :], built.data[len(main) :])


def test_a_failed_fit_exits_1_and_names_it(tmp_path, monkeypatch, capsys):
    # the significance fits reported as failed: exit 1, the fit named on stderr,
    # no row committed (as Combine commits none)
    from hifit.combine.methods import significance as method

    real = method.significance

    def failing(*args, **kwargs):
        got = real(*args, **kwargs)
        return type(got)(**{**got.__dict__, "valid": False, "message": "no minimum"})

    monkeypatch.setattr(method, "significance", failing)
    monkeypatch.chdir(tmp_path)
    assert run([COUNTING, "-M", "Significance"]) == 1
    assert "the significance fits failed: no minimum" in capsys.readouterr().err
    tree = uproot.open(tmp_path / "higgsCombineTest.Significance.mH120.root")["limit"]
    assert tree.num_entries == 0


@pytest.mark.parametrize(
    "method", [["-M", "MultiDimFit", "--algo", "impact", "-P", "r"],
               ["-M", "Significance"], ["-M", "AsymptoticLimits"]],
)  # fmt: skip
def test_a_frozen_poi_is_refused(method, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OptionError, match="measures r, which --freezeParameters"):
        run([COUNTING, *method, "--freezeParameters", "r"])


def test_impact_algo(tmp_path, monkeypatch):
    # combineTool.py -M Impacts' per-parameter command
    args = [COUNTING, "-M", "MultiDimFit", "--algo", "impact",
            "--redefineSignalPOIs", "r", "-P", "lumi",
            "--floatOtherPOIs", "1", "--saveInactivePOI", "1"]  # fmt: skip
    tree = run_here(tmp_path, monkeypatch, args)
    assert list(tree)[10:] == ["lumi", "r", "deltaNLL"]
    np.testing.assert_array_equal(
        tree["quantileExpected"], np.float32([-1, 0.32, 0.32])
    )
    setup = build(parse(args))
    best = fit(setup.data, setup.model, **setup.fit_kwargs())
    level = stats.chi2.ppf(0.68, 1)
    found = minos(setup.data, setup.model, "lumi", fit_result=best,
                  delta_twice_nll=level, **setup.fit_kwargs())["lumi"]  # fmt: skip
    k = setup.index("lumi")
    for row, offset in ((1, found.lower), (2, found.upper)):
        end = best.bestfit[k] + offset
        assert tree["lumi"][row] == pytest.approx(end, rel=1e-6)
        fixed = list(setup.fixed)
        fixed[k] = True
        init = list(best.bestfit)
        init[k] = end
        at = fit(setup.data, setup.model, init, setup.bounds, fixed)
        r = at.bestfit[setup.index("r")]
        assert tree["r"][row] == pytest.approx(r, rel=1e-5, abs=1e-7)


def test_singles_on_a_frozen_poi_writes_its_value(tmp_path, monkeypatch):
    # Combine: a constant POI has no MINOS errors, both ends are its value
    args = [COUNTING, "-M", "MultiDimFit", "--algo", "singles",
            "--freezeParameters", "r", "--setParameters", "r=1"]  # fmt: skip
    tree = run_here(tmp_path, monkeypatch, args)
    np.testing.assert_array_equal(tree["r"], [1.0, 1.0, 1.0])
