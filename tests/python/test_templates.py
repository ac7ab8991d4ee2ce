"""hifit.cabinetry.templates against cabinetry.templates (the reference, 0.6.0).

* build (ntuples) and collect (histograms) on the tutorial configs, plus a config
  using every path/filter/weight/override rule and one with a template router: every
  template's yields, stdev and bins agree, raw and post-processed (with smoothing);
* the C++ "353QH, twice" smoothing against ``cabinetry.smooth`` on random inputs;
* the ROOT storage (one TH1D per file, atomic writes, NaN stdev kept until
  post-processing) and ``load_template``;
* errors for missing files, trees, branches and histograms name the file.
"""

from __future__ import annotations

import copy
import logging
import pathlib
from typing import Any

import boost_histogram as bh
import numpy as np
import pytest
import uproot
import yaml

import hifit.cabinetry.route
import hifit.cabinetry.templates
from hifit import _core
from hifit.cabinetry.templates import TemplateInputError, load_template

cabinetry = pytest.importorskip("cabinetry")

TUTORIALS = (
    pathlib.Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "cabinetry"
    / "tutorials"
)
INPUTS = TUTORIALS / "inputs"
RTOL = 1e-12


# --- configs -------------------------------------------------------------------------


def tutorial_config(file_name: str) -> dict[str, Any]:
    """A tutorial config whose InputPath points at the shared inputs."""
    config = yaml.safe_load((TUTORIALS / file_name).read_text())
    general = config["General"]
    general["InputPath"] = general["InputPath"].replace("inputs/", f"{INPUTS}/")
    return config


def with_smoothing(config: dict[str, Any]) -> dict[str, Any]:
    """Smooth both shape systematics (one everywhere, one restricted)."""
    config = copy.deepcopy(config)
    for systematic in config["Systematics"]:
        if systematic["Type"] == "NormPlusShape":
            systematic["Smoothing"] = {"Algorithm": "353QH, twice"}
    config["Systematics"][-1]["Smoothing"]["Samples"] = ["Background"]
    return config


def features_config() -> dict[str, Any]:
    """Ntuple config exercising path templating, filters, weights and overrides."""
    return {
        "General": {
            "Measurement": "features",
            "POI": "mu",
            "InputPath": f"{TUTORIALS}/{{RegionPath}}/{{SamplePath}}",
            "HistogramFolder": "unused",
        },
        "Regions": [
            {
                "Name": "Signal region",  # a space: "-" in file names
                "Variable": "jet_pt",
                "Filter": "lep_charge > 0",
                "Binning": [200, 300, 400, 500, 600],
                "RegionPath": "inputs",
            },
            {
                "Name": "CR",
                "Variable": "jet_pt / 2",
                "Filter": "lep_charge < 0",
                "Binning": [0, 100, 150, 200, 250, 300, 400],
                "RegionPath": "inputs",
            },
        ],
        "Samples": [
            {
                "Name": "Data",
                "Tree": "pseudodata",
                "SamplePath": "data.root",
                "Data": True,
            },
            {
                "Name": "Signal",
                "Tree": "signal",
                "SamplePath": "prediction.root",
                "Weight": "weight",
                "Filter": "jet_pt > 250",  # replaces the region filter
                "Regions": "Signal region",
            },
            {
                "Name": "Background",
                "Tree": "background",
                "SamplePath": ["prediction.root", "prediction.root"],  # summed
                "Weight": "0.5",  # a constant
            },
        ],
        "NormFactors": [{"Name": "mu", "Samples": "Signal"}],
        "Systematics": [
            {
                "Name": "Lumi",
                "Type": "Normalization",
                "Up": {"Normalization": 0.02},
                "Down": {"Normalization": -0.02},
            },
            {
                "Name": "Tree var",
                "Type": "NormPlusShape",
                "Samples": "Background",
                "Up": {"Tree": "background_varied", "Weight": "weight"},
                "Down": {
                    "Variable": "jet_pt * 1.01",
                    "Filter": "lep_charge > 0",  # replaces the region filter
                    "Weight": "weight_down",
                },
                "Smoothing": {"Algorithm": "353QH, twice", "Regions": "Signal region"},
            },
            {
                "Name": "Path var",
                "Type": "NormPlusShape",
                "Samples": ["Background"],
                "Regions": ["CR"],
                "Up": {
                    "SamplePath": "prediction.root",
                    "RegionPath": "../tutorials/inputs",
                    "Weight": "weight_up",
                },
                "Down": {"Symmetrize": True},
                "Smoothing": {"Algorithm": "353QH, twice"},
            },
        ],
    }


def in_folder(config: dict[str, Any], folder: pathlib.Path) -> dict[str, Any]:
    config = copy.deepcopy(config)
    config["General"]["HistogramFolder"] = str(folder)
    return config


# --- running both --------------------------------------------------------------------


def needed_templates(config: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(region, sample, systematic, template) of every needed template, by cabinetry."""
    found: list[tuple[Any, ...]] = []
    cabinetry.route.apply_to_all_templates(config, lambda *args: found.append(args))
    return found


def run_both(
    config: dict[str, Any],
    tmp_path: pathlib.Path,
    step: str,
    routers: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``step`` (build or collect), then postprocess, with both packages.

    ``routers`` maps the package name to the router passed to its ``build``.
    """
    (tmp_path / "cabinetry").mkdir()  # cabinetry does not create parent folders
    reference = in_folder(config, tmp_path / "cabinetry" / "histograms")
    ours = in_folder(config, tmp_path / "hifit" / "histograms")
    for package, cfg in ((cabinetry, reference), (hifit, ours)):
        options = {}
        if routers is not None:
            options["router"] = routers[package.__name__]
        getattr(package.templates, step)(cfg, **options)
        package.templates.postprocess(cfg)
    return reference, ours


def assert_same_templates(reference: dict[str, Any], ours: dict[str, Any]) -> None:
    ref_folder = pathlib.Path(reference["General"]["HistogramFolder"])
    our_folder = pathlib.Path(ours["General"]["HistogramFolder"])
    assert sorted(p.stem for p in our_folder.iterdir()) == sorted(
        p.stem for p in ref_folder.iterdir()
    )
    for region, sample, systematic, template in needed_templates(reference):
        for modified in (False, True):
            expected = cabinetry.histo.Histogram.from_config(
                ref_folder,
                region,
                sample,
                systematic,
                template=template,
                modified=modified,
            )
            got = load_template(ours, region, sample, systematic, template, modified)
            where = f"{region['Name']} {sample['Name']} {systematic.get('Name')} "
            where += f"{template} modified={modified}"
            for field in ("yields", "stdev", "bins"):
                np.testing.assert_allclose(
                    getattr(got, field),
                    getattr(expected, field),
                    rtol=RTOL,
                    atol=0,
                    err_msg=f"{field} of {where}",
                )


def smoothed_templates_changed(config: dict[str, Any]) -> int:
    """How many smoothed templates differ from their raw version (a sanity check)."""
    changed = 0
    for region, sample, systematic, template in needed_templates(config):
        raw = load_template(config, region, sample, systematic, template, False)
        final = load_template(config, region, sample, systematic, template)
        changed += not np.array_equal(raw.yields, final.yields)
    return changed


# --- the tutorial configs and more ---------------------------------------------------


@pytest.mark.parametrize("smoothing", [False, True], ids=["plain", "smoothed"])
@pytest.mark.parametrize(
    ("file_name", "step"),
    [("config_ntuples.yml", "build"), ("config_histograms.yml", "collect")],
)
def test_tutorial_templates_match_cabinetry(
    tmp_path: pathlib.Path, file_name: str, step: str, smoothing: bool
) -> None:
    config = tutorial_config(file_name)
    if smoothing:
        config = with_smoothing(config)
    reference, ours = run_both(config, tmp_path, step)
    assert_same_templates(reference, ours)
    assert (smoothed_templates_changed(ours) > 0) == smoothing


def template_names(apply_to_all_templates: Any, config: dict[str, Any]) -> list[str]:
    names: list[str] = []
    apply_to_all_templates(
        config,
        lambda *args: names.append(cabinetry.histo.name(*args[:3], template=args[3])),
    )
    return names


def test_needed_templates_match_cabinetry() -> None:
    config = features_config()
    expected = template_names(cabinetry.route.apply_to_all_templates, config)
    assert (
        template_names(hifit.cabinetry.route.apply_to_all_templates, config) == expected
    )
    assert len(expected) == 10


def test_ntuple_rules_match_cabinetry(tmp_path: pathlib.Path) -> None:
    reference, ours = run_both(features_config(), tmp_path, "build")
    assert_same_templates(reference, ours)
    names = {p.stem for p in pathlib.Path(ours["General"]["HistogramFolder"]).iterdir()}
    assert "Signal-region_Background_Tree-var_Down" in names
    assert "CR_Background_Path-var_Down" not in names  # symmetrized: not built
    assert "CR_Signal" not in names  # Signal is only in "Signal region"
    assert smoothed_templates_changed(ours) == 3


def test_sample_path_list_is_summed(tmp_path: pathlib.Path) -> None:
    # Background reads prediction.root twice with a constant weight 0.5: its yields
    # are the event counts, its variances half of them.
    config = in_folder(features_config(), tmp_path)
    hifit.cabinetry.templates.build(config)
    background = load_template(config, "CR", "Background")
    with uproot.open(INPUTS / "prediction.root") as source:
        branches = source["background"].arrays(["jet_pt", "lep_charge"], library="np")
    selected = branches["jet_pt"][branches["lep_charge"] < 0] / 2
    counts, _ = np.histogram(selected, bins=background.bins)
    np.testing.assert_allclose(background.yields, counts, rtol=RTOL)
    np.testing.assert_allclose(background.stdev, np.sqrt(counts * 0.5), rtol=RTOL)


def test_router_matches_cabinetry(tmp_path: pathlib.Path) -> None:
    def flat_up(region, sample, systematic, template):
        hist = bh.Histogram(
            bh.axis.Variable(region["Binning"]), storage=bh.storage.Weight()
        )
        hist[...] = np.stack([np.arange(1.0, 5.0), np.full(4, np.nan)], axis=-1)
        return hist

    routers = {}
    for package in (cabinetry, hifit):
        router = package.route.Router()
        router.register_template_builder(sample_name="Back*", template="Up")(flat_up)
        routers[package.__name__] = router
    config = with_smoothing(tutorial_config("config_ntuples.yml"))
    reference, ours = run_both(config, tmp_path, "build", routers)
    assert_same_templates(reference, ours)
    up = load_template(ours, "Signal_region", "Background", "Modeling", "Up", False)
    assert np.isnan(up.stdev).all()  # kept raw, fixed in the _modified copy
    assert (
        load_template(ours, "Signal_region", "Background", "Modeling", "Up").stdev == 0
    ).all()


def test_router_rejects_non_histograms(tmp_path: pathlib.Path) -> None:
    router = hifit.cabinetry.route.Router()

    @router.register_template_builder(template=None)
    def not_a_histogram(region, sample, systematic, template):
        return [1, 2, 3]

    config = in_folder(tutorial_config("config_ntuples.yml"), tmp_path)
    with pytest.raises(TypeError, match="not_a_histogram must return"):
        hifit.cabinetry.templates.build(config, router=router)


@pytest.mark.parametrize(
    ("pattern", "template", "expected"),
    [
        ("*", None, True),
        ("*", "Up", True),
        (None, None, True),
        (None, "Up", False),
        ("Up", None, False),
        ("Up", "Up", True),
        ("D*", "Down", True),
        ("D*", "Up", False),
    ],
)
def test_router_template_matching(pattern, template, expected) -> None:
    for package in (cabinetry, hifit):
        router = package.route.Router()
        router.register_template_builder(region_name="S?", template=pattern)(print)
        found = router._find_match(router.template_builders, "SR", "s", "x", template)
        assert (found is print) == expected, package.__name__


def test_router_first_match_wins(caplog: pytest.LogCaptureFixture) -> None:
    router = hifit.cabinetry.route.Router()
    router.template_builder_wrapper = lambda func: func
    router.register_template_builder(region_name="SR")(print)
    router.register_template_builder()(repr)
    with caplog.at_level(logging.WARNING):
        assert router._find_template_builder_match("SR", "s", "", None) is print
    assert "found 2 matches" in caplog.text
    assert router._find_template_builder_match("CR", "s", "", None) is repr


# --- smoothing -----------------------------------------------------------------------


def random_inputs(seed: int) -> list[np.ndarray]:
    """Random arrays; small integers give the ties that trigger every branch."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(300):
        n = int(rng.integers(3, 25))
        kind = rng.integers(3)
        if kind == 0:
            arrays.append(rng.integers(0, 5, n).astype(float))
        elif kind == 1:
            arrays.append(rng.normal(1.0, 0.3, n))  # negatives: no clipping
        else:
            arrays.append(rng.exponential(10.0, n) * (rng.random(n) < 0.7))
    return arrays


def test_smoothing_matches_cabinetry_on_random_inputs() -> None:
    for values in random_inputs(7):
        expected = cabinetry.smooth.smooth_353qh_twice(values.copy())
        np.testing.assert_allclose(
            _core.smooth_353qh_twice(values), expected, rtol=RTOL, atol=0
        )


@pytest.mark.parametrize("values", [[], [2.0], [1.0, 3.0]])
def test_smoothing_short_inputs_unchanged(values) -> None:
    np.testing.assert_array_equal(_core.smooth_353qh_twice(np.array(values)), values)


def test_variation_smoothing_matches_cabinetry() -> None:
    from cabinetry.templates import postprocessor

    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(3, 15))
        bins = np.arange(n + 1.0)
        nominal = rng.uniform(5, 50, n)
        variation = nominal * rng.normal(1, 0.1, n)
        expected = cabinetry.histo.Histogram.from_arrays(bins, variation, np.ones(n))
        reference = cabinetry.histo.Histogram.from_arrays(bins, nominal, np.ones(n))
        postprocessor._apply_353qh_twice(expected, reference, "x")
        got = _core.smooth_variation_353qh_twice(variation, nominal)
        np.testing.assert_allclose(got, expected.yields, rtol=RTOL, atol=0)
        assert got.sum() == pytest.approx(variation.sum(), rel=RTOL)


def test_variation_smoothing_size_mismatch() -> None:
    with pytest.raises(ValueError, match="3 bins but the nominal has 2"):
        _core.smooth_variation_353qh_twice(np.ones(3), np.ones(2))


# --- storage and loading -------------------------------------------------------------


@pytest.fixture
def built(tmp_path: pathlib.Path) -> dict[str, Any]:
    config = in_folder(tutorial_config("config_ntuples.yml"), tmp_path / "h")
    hifit.cabinetry.templates.build(config)
    return config


TEMPLATE_NAMES = [
    "Signal_region_Background",
    "Signal_region_Background_Modeling_Up",
    "Signal_region_Background_WeightBasedModeling_Down",
    "Signal_region_Background_WeightBasedModeling_Up",
    "Signal_region_Data",
    "Signal_region_Signal",
]


def test_npz_files_as_cabinetry_writes_them(built: dict[str, Any]) -> None:
    folder = pathlib.Path(built["General"]["HistogramFolder"])
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{n}.npz" for n in TEMPLATE_NAMES]  # no temporary files left
    for region, sample, systematic, template in needed_templates(built):
        content = load_template(built, region, sample, systematic, template)
        name = cabinetry.histo.name(region, sample, systematic, template=template)
        theirs = cabinetry.histo.Histogram.from_path(folder / name, modified=False)
        np.testing.assert_array_equal(theirs.yields, content.yields)
        np.testing.assert_array_equal(theirs.stdev, content.stdev)
        np.testing.assert_array_equal(theirs.bins, content.bins)


def test_one_th1d_per_file_on_request(tmp_path: pathlib.Path) -> None:
    built = in_folder(tutorial_config("config_ntuples.yml"), tmp_path / "h")
    built["General"]["TemplateFormat"] = "root"
    hifit.cabinetry.templates.build(built)
    folder = pathlib.Path(built["General"]["HistogramFolder"])
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{n}.root" for n in TEMPLATE_NAMES]
    for region, sample, systematic, template in needed_templates(built):
        content = load_template(built, region, sample, systematic, template)
        name = cabinetry.histo.name(region, sample, systematic, template=template)
        with uproot.open(folder / f"{name}.root") as source:
            assert source.classnames() == {f"{name};1": "TH1D"}
            hist = source[name]
            np.testing.assert_array_equal(hist.values(), content.yields)
            sumw2 = np.asarray(hist.member("fSumw2"))
            np.testing.assert_array_equal(sumw2[1:-1], content.stdev**2)
            assert sumw2[0] == sumw2[-1] == 0  # no under- or overflow
            np.testing.assert_array_equal(hist.axis().edges(), content.bins)


def test_load_template_prefers_modified(built: dict[str, Any]) -> None:
    args = (built, "Signal_region", "Background", "WeightBasedModeling", "Up")
    raw = load_template(*args)  # no _modified copy yet: falls back
    np.testing.assert_array_equal(raw.yields, load_template(*args, modified=False)[0])
    config = with_smoothing(built)
    hifit.cabinetry.templates.postprocess(config)
    yields, stdev, bins = load_template(config, *args[1:])
    assert not np.array_equal(yields, raw.yields)
    np.testing.assert_array_equal(stdev, raw.stdev)
    assert len(bins) == len(yields) + 1
    # Config entries work as well as names.
    entries = (config["Regions"][0], config["Samples"][2], config["Systematics"][2])
    np.testing.assert_array_equal(load_template(config, *entries, "Up")[0], yields)


def test_load_template_errors(built: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="needs a systematic"):
        load_template(built, "Signal_region", "Background", None, "Up")
    with pytest.raises(ValueError, match="systematic Nope not found"):
        load_template(built, "Signal_region", "Background", "Nope", "Up")
    with pytest.raises(FileNotFoundError, match="Signal_region_Signal_Modeling_Up.npz"):
        load_template(built, "Signal_region", "Signal", "Modeling", "Up")


# --- errors name the file ------------------------------------------------------------


def ntuple_config_with(tmp_path: pathlib.Path, **sample_changes: Any) -> dict:
    config = in_folder(tutorial_config("config_ntuples.yml"), tmp_path)
    config["Samples"][1].update(sample_changes)
    return config


@pytest.mark.parametrize(
    ("changes", "error", "pattern"),
    [
        (
            {"SamplePath": "missing.root"},
            FileNotFoundError,
            r"Signal_region_Signal: no file .*inputs/missing\.root",
        ),
        (
            {"SamplePath": "miss*.root"},
            FileNotFoundError,
            r"no file matches .*inputs/miss\*\.root",
        ),
        (
            {"Tree": "no_tree"},
            TemplateInputError,
            r"no tree 'no_tree' in .*inputs/prediction\.root \(available: signal, ",
        ),
        (
            {"Weight": "no_branch * 2"},
            TemplateInputError,
            r"no branch 'no_branch' in tree 'signal' of .*inputs/prediction\.root",
        ),
    ],
)
def test_build_errors_name_the_file(tmp_path, changes, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        hifit.cabinetry.templates.build(ntuple_config_with(tmp_path, **changes))


@pytest.mark.parametrize(
    ("input_path", "error", "pattern"),
    [
        (
            "missing.root:{RegionPath}/{SamplePath}/{VariationPath}",
            FileNotFoundError,
            r"Signal_region_Data: no file .*inputs/missing\.root",
        ),
        (
            "histograms.root:{RegionPath}/{SamplePath}/x{VariationPath}",
            TemplateInputError,
            r"no histogram 'xNominal' in .*/histograms\.root \(available: Nominal",
        ),
        ("histograms.root", ValueError, r"no ':' in .*inputs/histograms\.root"),
    ],
)
def test_collect_errors_name_the_file(tmp_path, input_path, error, pattern) -> None:
    config = in_folder(tutorial_config("config_histograms.yml"), tmp_path)
    config["General"]["InputPath"] = f"{INPUTS}/{input_path}"
    with pytest.raises(error, match=pattern):
        hifit.cabinetry.templates.collect(config)


def test_missing_binning_and_path_settings(tmp_path: pathlib.Path) -> None:
    config = in_folder(tutorial_config("config_ntuples.yml"), tmp_path)
    del config["Regions"][0]["Binning"]
    with pytest.raises(NotImplementedError, match="Signal_region has no Binning"):
        hifit.cabinetry.templates.build(config)
    config = ntuple_config_with(tmp_path)
    del config["Samples"][0]["SamplePath"]
    with pytest.raises(ValueError, match="no path setting found for sample Data"):
        hifit.cabinetry.templates.build(config)
