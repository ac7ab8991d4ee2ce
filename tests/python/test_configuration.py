"""hifit.cabinetry.configuration against cabinetry.configuration (the reference, 0.6.0).

* every shared cabinetry config loads to the same dict with both;
* the membership helpers and ``histogram_is_needed`` agree on every combination;
* both accept and reject the same configs, over thousands of systematic edits of
  valid configs (deleted keys, wrong types, unknown keys, ...);
* hifit's error messages name the file, the key path, what was expected and
  what was found.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import pkgutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from hifit.cabinetry import configuration as hconf
from hifit.exceptions import HifitError

cabinetry = pytest.importorskip("cabinetry")
cconf = cabinetry.configuration

CABINETRY_DATA = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cabinetry"
)
SHARED_CONFIGS = {
    "example": CABINETRY_DATA / "cabinetry-examples" / "config_example.yml",
    "example_histograms": CABINETRY_DATA
    / "cabinetry-examples"
    / "config_histograms.yml",
    "tutorial_ntuples": CABINETRY_DATA / "tutorials" / "config_ntuples.yml",
    "tutorial_histograms": CABINETRY_DATA / "tutorials" / "config_histograms.yml",
}

# What cabinetry raises for an invalid config: a schema violation, a data-sample
# count other than one, or repeated names.
CABINETRY_REJECTS = (jsonschema.ValidationError, NotImplementedError, ValueError)


def rich_config() -> dict[str, Any]:
    """A valid config using every key of the schema, and both setting spellings."""
    return {
        "General": {
            "Measurement": "meas",
            "POI": "mu",
            "InputPath": "inputs/{RegionPath}/{SamplePath}",
            "HistogramFolder": "histograms/",
            "Fixed": [{"Name": "Lumi", "Value": 1.0}, {"Name": "k", "Value": 2}],
            "VariationPath": "nominal",
        },
        "Regions": [
            {
                "Name": "SR",
                "Variable": "x",
                "Binning": [0, 1.5, 3],
                "Filter": "y > 0",
                "RegionPath": "sr",
            },
            {"Name": "CR 1", "Variable": "x", "Binning": [0, 10]},
            {"Name": "VR", "Variable": "z", "Binning": [0, 1, 2, 4]},
        ],
        "Samples": [
            {"Name": "Data", "Tree": "data", "SamplePath": "data.root", "Data": True},
            {
                "Name": "Signal",
                "Tree": "sig",
                "SamplePath": ["a.root", "b.root"],
                "Weight": "w",
                "Filter": "y > 1",
                "DisableStaterror": True,
                "Regions": ["SR", "VR"],
            },
            {"Name": "Bkg", "Tree": "bkg", "Data": False, "Regions": "CR 1"},
            {"Name": "Other", "Tree": "oth", "Weight": "1.2"},
        ],
        "NormFactors": [
            {"Name": "mu", "Samples": "Signal", "Nominal": 1, "Bounds": [0, 10]},
            {"Name": "k", "Regions": ["SR", "CR 1"], "Samples": ["Bkg", "Other"]},
        ],
        "Systematics": [
            {
                "Name": "Lumi",
                "Type": "Normalization",
                "Up": {"Normalization": 0.02},
                "Down": {"Normalization": -0.02},
            },
            {
                "Name": "Shape",
                "Type": "NormPlusShape",
                "Up": {
                    "Tree": "t_up",
                    "Weight": "w_up",
                    "Variable": "x_up",
                    "Filter": "y > 2",
                    "RegionPath": "sr_up",
                    "SamplePath": ["c.root"],
                    "VariationPath": "up",
                },
                "Down": {"Symmetrize": True},
                "Regions": ["SR", "VR"],
                "Samples": ["Other", "Signal"],
                "Smoothing": {
                    "Algorithm": "353QH, twice",
                    "Regions": "SR",
                    "Samples": ["Other"],
                },
                "ModifierName": "shape_np",
            },
            {
                "Name": "OneRegion",
                "Type": "NormPlusShape",
                "Up": {"Symmetrize": True},
                "Down": {"SamplePath": "d.root"},
                "Regions": "CR 1",
                "Samples": "Bkg",
            },
            {
                "Name": "Everywhere",
                "Type": "NormPlusShape",
                "Up": {"Weight": "w_up"},
                "Down": {},
            },
        ],
    }


def histogram_config() -> dict[str, Any]:
    """The rich config in its histogram-input form (no Tree, Variable, Binning)."""
    config = rich_config()
    for region in config["Regions"]:
        for key in ("Variable", "Binning"):
            region.pop(key, None)
    for sample in config["Samples"]:
        sample.pop("Tree")
    return config


BASE_CONFIGS = {
    **{
        name: (lambda p=path: yaml.safe_load(p.read_text()))
        for name, path in SHARED_CONFIGS.items()
    },
    "rich": rich_config,
    "rich_histograms": histogram_config,
}


@functools.cache
def _cabinetry_schema() -> jsonschema.protocols.Validator:
    # cabinetry.configuration.validate re-reads its schema on every call (~8 ms);
    # checking the schema part with one compiled validator makes thousands of
    # comparisons affordable. cabinetry's own validate still has the last word.
    schema = json.loads(pkgutil.get_data("cabinetry", "schemas/config.json"))
    return jsonschema.validators.validator_for(schema)(schema)


def cabinetry_accepts(config: Any) -> bool:
    if not _cabinetry_schema().is_valid(config):
        return False
    try:
        return cconf.validate(config)
    except CABINETRY_REJECTS:
        return False


def hifit_accepts(config: Any) -> bool:
    try:
        return hconf.validate(config)
    except hconf.InvalidConfig:
        return False


# --- shared configs ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHARED_CONFIGS))
def test_shared_configs_load_as_with_cabinetry(name, caplog):
    path = SHARED_CONFIGS[name]
    with caplog.at_level(logging.INFO):
        ours = hconf.load(path)
    assert ours == cconf.load(str(path))
    assert hconf.validate(ours) is True
    assert f"opening config file {path}" in caplog.text


@pytest.mark.parametrize("name", sorted(BASE_CONFIGS))
def test_base_configs_are_valid_for_both(name):
    config = BASE_CONFIGS[name]()
    assert cconf.validate(config) is True
    assert hconf.validate(config) is True


def test_input_type_detection():
    expected = {
        "example": True,
        "example_histograms": False,
        "tutorial_ntuples": True,
        "tutorial_histograms": False,
    }
    for name, path in SHARED_CONFIGS.items():
        assert hconf._input_is_ntuple(hconf.load(path)) is expected[name], name
    assert hconf._input_is_ntuple(rich_config())
    assert not hconf._input_is_ntuple(histogram_config())


# --- helpers: identical answers on every combination --------------------------------


@pytest.mark.parametrize("name", sorted(BASE_CONFIGS))
def test_membership_helpers_as_cabinetry(name):
    config = BASE_CONFIGS[name]()
    regions, samples = config["Regions"], config["Samples"]
    modifiers = config["NormFactors"] + config.get("Systematics", [])
    smoothings = [
        s["Smoothing"] for s in config.get("Systematics", []) if "Smoothing" in s
    ]
    for region, sample in itertools.product(regions, samples):
        assert hconf.region_contains_sample(region, sample) == (
            cconf.region_contains_sample(region, sample)
        )
    for region, modifier in itertools.product(regions, modifiers + smoothings):
        assert hconf.region_contains_modifier(region, modifier) == (
            cconf.region_contains_modifier(region, modifier)
        )
    for sample, modifier in itertools.product(samples, modifiers + smoothings):
        assert hconf.sample_contains_modifier(sample, modifier) == (
            cconf.sample_contains_modifier(sample, modifier)
        )


@pytest.mark.parametrize("name", sorted(BASE_CONFIGS))
def test_histogram_is_needed_as_cabinetry(name):
    config = BASE_CONFIGS[name]()
    # Nominal is asked with an empty systematic, as cabinetry's router does.
    cases = [({"Name": "Nominal"}, None)] + [
        (systematic, template)
        for systematic in config.get("Systematics", [])
        for template in ("Up", "Down")
    ]
    needed = 0
    for region, sample, (systematic, template) in itertools.product(
        config["Regions"], config["Samples"], cases
    ):
        ours = hconf.histogram_is_needed(region, sample, systematic, template)
        assert ours == cconf.histogram_is_needed(
            region, sample, systematic, template
        ), (
            region["Name"],
            sample["Name"],
            systematic["Name"],
            template,
        )
        needed += ours
    assert needed > 0


def test_rich_config_histograms_needed():
    """A hand count of the rich config, so agreement is not agreement on nothing."""
    config = rich_config()
    needed = {
        (r["Name"], s["Name"], sys["Name"], t)
        for r in config["Regions"]
        for s in config["Samples"]
        for sys in config["Systematics"]
        for t in ("Up", "Down")
        if hconf.histogram_is_needed(r, s, sys, t)
    }
    assert needed == {
        ("SR", "Signal", "Shape", "Up"),
        ("SR", "Other", "Shape", "Up"),
        ("VR", "Signal", "Shape", "Up"),
        ("VR", "Other", "Shape", "Up"),
        ("CR 1", "Bkg", "OneRegion", "Down"),
        *{
            (region, sample, "Everywhere", t)
            for region, sample in [
                ("SR", "Signal"),
                ("VR", "Signal"),
                ("CR 1", "Bkg"),
                ("SR", "Other"),
                ("CR 1", "Other"),
                ("VR", "Other"),
            ]
            for t in ("Up", "Down")
        },
    }


def test_unknown_systematic_type_in_histogram_is_needed():
    region, sample = {"Name": "SR"}, {"Name": "S"}
    systematic = {"Name": "s", "Type": "Shape"}
    with pytest.raises(ValueError, match="unknown systematics type: Shape"):
        cconf.histogram_is_needed(region, sample, systematic, "Up")
    with pytest.raises(hconf.InvalidConfig, match="unknown systematics type: Shape"):
        hconf.histogram_is_needed(region, sample, systematic, "Up")


def test_region_and_sample_lookup():
    config = rich_config()
    assert hconf.region_dict(config, "CR 1") is config["Regions"][1]
    assert hconf.region_dict(config, "CR 1") == cconf.region_dict(config, "CR 1")
    assert hconf.sample_dict(config, "Bkg") is config["Samples"][2]
    with pytest.raises(ValueError, match="region XR not found"):
        cconf.region_dict(config, "XR")
    with pytest.raises(hconf.InvalidConfig, match="region XR not found in config"):
        hconf.region_dict(config, "XR")
    with pytest.raises(hconf.InvalidConfig, match="sample XS not found in config"):
        hconf.sample_dict(config, "XS")


def test_lookup_with_repeated_name_logs_and_returns_first(caplog):
    config = {"Regions": [{"Name": "SR", "i": 0}, {"Name": "SR", "i": 1}]}
    with caplog.at_level(logging.ERROR):
        assert hconf.region_dict(config, "SR")["i"] == 0
    assert "found more than one region with name SR" in caplog.text


# --- print_overview ----------------------------------------------------------------


@pytest.mark.parametrize("with_systematics", [True, False])
def test_print_overview_as_cabinetry(with_systematics, caplog):
    config = rich_config()
    if not with_systematics:
        del config["Systematics"]
    logged = []
    for module in (cconf, hconf):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            module.print_overview(config)
        logged.append([(r.levelno, r.getMessage()) for r in caplog.records])
    assert logged[1] == logged[0]
    assert (logging.INFO, "  4 Sample(s)") in logged[1]


# --- same accepted configs as cabinetry --------------------------------------------

PROBES = [None, 3, 2.5, True, "text", [], ["a"], [1, 2], [1, 1], {}, {"Name": "x"}]


def _locations(node: Any, path: tuple = ()):
    """Every (container path, key or index) inside a config."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield path, key
        yield from _locations(value, (*path, key))


def _blocks(node: Any, path: tuple = ()):
    """The path of every mapping inside a config (not the top level)."""
    if isinstance(node, dict) and path:
        yield path
    children = (
        node.items()
        if isinstance(node, dict)
        else (enumerate(node) if isinstance(node, list) else ())
    )
    for key, value in children:
        yield from _blocks(value, (*path, key))


def _at(config: Any, path: tuple) -> Any:
    for key in path:
        config = config[key]
    return config


def _edits(config: dict[str, Any]):
    """(description, edited copy) for many small edits of a valid config."""
    for path, key in _locations(config):
        for probe in ["<delete>", *PROBES]:
            edited = copy.deepcopy(config)
            container = _at(edited, path)
            if probe == "<delete>":
                del container[key]
            else:
                container[key] = copy.deepcopy(probe)
            yield f"{[*path, key]} = {probe!r}", edited
        if isinstance(_at(config, (*path, key)), list):
            edited = copy.deepcopy(config)
            target = _at(edited, (*path, key))
            target.append(copy.deepcopy(target[0]) if target else "x")
            yield f"{[*path, key]} + repeat", edited
    for path in _blocks(config):
        for extra in ("Unknown", "name"):
            edited = copy.deepcopy(config)
            _at(edited, path)[extra] = "x"
            yield f"{list(path)} + {extra}", edited


@pytest.mark.parametrize("name", sorted(BASE_CONFIGS))
def test_accepts_exactly_what_cabinetry_accepts(name):
    disagreements = []
    n_rejected = 0
    for description, edited in _edits(BASE_CONFIGS[name]()):
        expected = cabinetry_accepts(edited)
        n_rejected += not expected
        if hifit_accepts(edited) != expected:
            disagreements.append((description, expected))
    assert not disagreements
    assert n_rejected > 100  # the edits do exercise the rules


@pytest.mark.parametrize(
    "config",
    [None, [], "text", 3, {}, {"General": {}}],
    ids=["empty", "list", "string", "number", "no_blocks", "only_general"],
)
def test_top_level_not_a_config(config):
    assert not cabinetry_accepts(config)
    with pytest.raises(hconf.InvalidConfig, match=r"^<config>: "):
        hconf.validate(config)


def test_custom_top_level_blocks_are_allowed():
    """Upstream cabinetry after 0.6.0 (#488) allows analysis-specific blocks.

    cabinetry 0.6.0's schema still forbids them; hifit follows the newer rule
    (see the reference, section 1), the only difference in accepted configs.
    """
    config = rich_config()
    config["Plotting"] = {"anything": [1, 2]}
    assert hconf.validate(config) is True
    assert not cabinetry_accepts(config)


def test_validate_leaves_the_config_unchanged():
    config = rich_config()
    hconf.validate(config)
    assert config == rich_config()


# --- messages ----------------------------------------------------------------------


def _edit(path: tuple, value: Any = "<delete>"):
    def apply(config):
        container = _at(config, path[:-1])
        if value == "<delete>":
            del container[path[-1]]
        else:
            container[path[-1]] = value

    return apply


MESSAGE_CASES = {
    "wrong_type": (
        _edit(("Samples", 2, "Weight"), 3),
        "Samples[2].Weight: expected a string, found 3",
    ),
    "missing_required_key": (
        _edit(("General", "Measurement")),
        "General: missing required key 'Measurement'",
    ),
    "missing_block": (
        _edit(("NormFactors",)),
        "missing required key 'NormFactors'",
    ),
    "unknown_key": (
        _edit(("Samples", 1, "Wieght"), "weight"),
        "Samples[1]: unknown key 'Wieght' (did you mean 'Weight'?); allowed keys: "
        "Name, Tree, Filter, Weight, SamplePath, Data, DisableStaterror, Regions",
    ),
    "unknown_key_in_template": (
        _edit(("Systematics", 1, "Down", "Symmetrise"), True),
        "Systematics[1].Down: unknown key 'Symmetrise' (did you mean 'Symmetrize'?)",
    ),
    "bad_enum": (
        _edit(("Systematics", 0, "Type"), "Shape"),
        "Systematics[0].Type: expected 'Normalization' or 'NormPlusShape', "
        "found 'Shape'",
    ),
    "number_as_string": (
        _edit(("NormFactors", 0, "Nominal"), "1"),
        "NormFactors[0].Nominal: expected a number, found '1'",
    ),
    "bool_is_not_a_number": (
        _edit(("Systematics", 0, "Up", "Normalization"), True),
        "Systematics[0].Up.Normalization: expected a number, found true",
    ),
    "empty_value": (
        _edit(("General", "POI"), None),
        "General.POI: expected a string, found an empty value",
    ),
    "string_or_list": (
        _edit(("Systematics", 1, "Samples"), 5),
        "Systematics[1].Samples: expected a string or a list of strings, found 5",
    ),
    "list_entry": (
        _edit(("Systematics", 1, "Samples"), ["Background", 4]),
        "Systematics[1].Samples[1]: expected a string, found 4",
    ),
    "empty_list": (
        _edit(("Regions",), []),
        "Regions: expected at least 1 entry, found 0",
    ),
    "short_binning": (
        _edit(("Regions", 0, "Binning"), [200]),
        "Regions[0].Binning: expected at least 2 entries, found 1",
    ),
    "repeated_bin_edge": (
        _edit(("Regions", 0, "Binning"), [200, 300, 300.0]),
        "Regions[0].Binning[2]: expected unique entries, found 300.0 again "
        "(as in Regions[0].Binning[1])",
    ),
    "three_bounds": (
        _edit(("NormFactors", 0, "Bounds"), [0, 5, 10]),
        "NormFactors[0].Bounds: expected exactly 2 entries, found 3",
    ),
    "block_not_a_mapping": (
        _edit(("General",), "minimal"),
        "General: expected a mapping of settings, found 'minimal'",
    ),
    "two_data_samples": (
        _edit(("Samples", 1, "Data"), True),
        "Samples: expected exactly one sample with 'Data: true', found 2 "
        "(Data, Signal)",
    ),
    "no_data_sample": (
        _edit(("Samples", 0, "Data")),
        "Samples: expected exactly one sample with 'Data: true', found none",
    ),
    "duplicate_sample_name": (
        _edit(("Samples", 2, "Name"), "Signal"),
        "Samples[2].Name: expected a unique name, found 'Signal' again "
        "(already used by Samples[1])",
    ),
    "duplicate_systematic_name": (
        _edit(("Systematics", 2, "Name"), "Luminosity"),
        "Systematics[2].Name: expected a unique name, found 'Luminosity' again "
        "(already used by Systematics[0])",
    ),
}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
def test_broken_config_messages(case, tmp_path):
    edit, message = MESSAGE_CASES[case]
    config = yaml.safe_load(SHARED_CONFIGS["example"].read_text())
    edit(config)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))

    with pytest.raises(CABINETRY_REJECTS):
        cconf.load(path)
    with pytest.raises(hconf.InvalidConfig) as raised:
        hconf.load(path)
    assert isinstance(raised.value, HifitError)
    assert str(raised.value).startswith(f"{path}: {message}")


def test_validate_without_file_says_config():
    config = rich_config()
    config["Samples"][1]["Weight"] = 3
    with pytest.raises(hconf.InvalidConfig) as raised:
        hconf.validate(config)
    assert (
        str(raised.value) == "<config>: Samples[1].Weight: expected a string, found 3"
    )


BAD_YAML = """\
General:
  Measurement: "minimal_example"
  POI: "Signal_norm"
    HistogramFolder: "histograms/"
"""


def test_bad_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text(BAD_YAML)
    with pytest.raises(yaml.YAMLError):
        cconf.load(path)
    with pytest.raises(hconf.InvalidConfig) as raised:
        hconf.load(path)
    assert str(raised.value).startswith(f"{path}:4:")
    assert "invalid YAML: expected <block end>" in str(raised.value)
    assert "while parsing a block mapping starting at line 2" in str(raised.value)


def test_unclosed_quote_names_file_and_line(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text('General:\n  Measurement: "minimal\n')
    with pytest.raises(hconf.InvalidConfig, match=rf"^{path}:\d+:\d+: invalid YAML"):
        hconf.load(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yml"
    path.write_text("# nothing here\n")
    with pytest.raises(CABINETRY_REJECTS):
        cconf.load(path)
    with pytest.raises(hconf.InvalidConfig) as raised:
        hconf.load(path)
    assert str(raised.value) == (
        f"{path}: expected a mapping of settings, found an empty value"
    )


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        cconf.load(tmp_path / "missing.yml")
    with pytest.raises(FileNotFoundError):
        hconf.load(tmp_path / "missing.yml")


def test_repeated_yaml_key_is_reported(tmp_path, caplog):
    """YAML keeps the last of two equal keys; that is legal but worth a warning."""
    text = SHARED_CONFIGS["example"].read_text()
    path = tmp_path / "config.yml"
    path.write_text(text + "\nNormFactors:\n  - Name: other\n")
    with caplog.at_level(logging.WARNING):
        config = hconf.load(path)
    assert config == cconf.load(path)
    assert config["NormFactors"] == [{"Name": "other"}]
    line = len(text.splitlines()) + 2
    assert f"{path}:{line}: key 'NormFactors' appears twice" in caplog.text


def test_yaml_merge_keys_are_not_reported_as_repeats(tmp_path, caplog):
    path = tmp_path / "config.yml"
    text = (
        SHARED_CONFIGS["example"]
        .read_text()
        .replace(
            'Samples:\n  - Name: "Data"',
            'Common: &common {Tree: "pseudodata"}\nSamples:\n  - <<: *common\n'
            '    Name: "Data"',
        )
    )
    path.write_text(text.replace('    Tree: "pseudodata"\n', "", 1))
    with caplog.at_level(logging.WARNING):
        config = hconf.load(path)
    assert config["Samples"][0]["Tree"] == "pseudodata"
    assert "appears twice" not in caplog.text
