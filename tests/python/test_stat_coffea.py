"""hifit.stat on the committed PocketCoffea outputs (../shared/data/pocketcoffea).

The PocketCoffea datacard workflow (load -> processes -> systematics -> one Datacard per
category -> dump -> combine_datacards) runs through hifit.stat and through
pocket-coffea 0.9.13 with only the import changed; rates, card entries and every
template must agree. pocket-coffea needs two concessions to run at all on these files:
the cutflow converted to its current layout and the data process named ``data_obs``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_stat import rows  # card text split into rows, as Combine reads it

import hifit.stat as hs

uproot = pytest.importorskip("uproot")

DATA_DIR = Path("../shared/data/pocketcoffea")
FILES = {
    "output_run3": {
        "year": "2023_postBPix",
        "mc": {"ttbar": ["TTTo2L2Nu"]},
        "data": ["DATA_SingleEle"],
        "jes": "AK4PFPuppi_JES_Total",
    },
    "subsample_output_v1": {
        "year": "2018",
        "mc": {"ttbar_ele": ["TTTo2L2Nu__ele"], "ttbar_mu": ["TTTo2L2Nu__mu"]},
        "data": ["DATA_SingleMuon__clean"],
        "jes": "AK4PFchs_JES_Total",
    },
    "test_new_weights_output_all": {
        "year": "2018",
        "mc": {"ttbar": ["TTTo2L2Nu"]},
        "data": ["DATA_SingleMuon"],
        "jes": "AK4PFchs_JES_Total",  # absent: falls back to nominal in both
    },
}
CATEGORIES = ["baseline", "1btag", "2btag"]
VARIABLE = "nJetGood"


@functools.cache
def load(name):
    path = DATA_DIR / f"{name}.coffea"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return hs.load_coffea(path)


def new_layout(cutflow):
    """pocket-coffea 0.9.13 reads cutflow["presel"][dataset]["nominal"] only."""
    return {"presel": {d: {"nominal": n} for d, n in cutflow["presel"].items()}}


def weight_systematics(out, config):
    """Every Up/Down pair of the variation axis except JES, as PocketCoffea users do."""
    sample = next(iter(config["mc"].values()))[0]
    h = next(iter(out["variables"][VARIABLE][sample].values()))
    names = set(h.axes["variation"])
    return sorted(
        n[:-2]
        for n in names
        if n.endswith("Up")
        and f"{n[:-2]}Down" in names
        and "JES" not in n
        and "JER" not in n
    )


def workflow(stat, combine, name, directory, category_prefix="ch", **kw):
    """The PocketCoffea datacard workflow; ``stat``/``combine`` are the only imports."""
    config = FILES[name]
    out = load(name)
    year = config["year"]
    mc_names = list(config["mc"])
    if len(mc_names) == 1:  # a background made of the same sample
        config = {**config, "mc": {**config["mc"], "bkg": config["mc"][mc_names[0]]}}
    processes = []
    for i, (pname, samples) in enumerate(config["mc"].items()):
        processes.append(
            stat.MCProcess(
                name=pname,
                samples=samples,
                is_signal=i == 0,
                years=[year],
                has_rateParam=i > 0,
            )
        )
    mc = stat.MCProcesses(processes)
    data = stat.DataProcesses(
        [stat.DataProcess(name="data_obs", samples=config["data"], years=[year])]
    )
    all_mc = list(config["mc"])
    systs = [
        stat.SystematicUncertainty(
            name="lumi", typ="lnN", processes=all_mc, years=[year], value=1.016
        ),
        stat.SystematicUncertainty(
            name="xsec",
            typ="lnN",
            processes=all_mc[1:],
            years=[year],
            value=(0.93, 1.05),
        ),
        stat.SystematicUncertainty(
            name="JES",
            typ="shape",
            processes=all_mc,
            years=[year],
            value=1.0,
            coffea_name_alias=config["jes"],
        ),
    ]
    systs += [
        stat.SystematicUncertainty(
            name=s, typ="shape", processes=all_mc, years=[year], value=1.0
        )
        for s in weight_systematics(out, config)
    ]
    cutflow = kw.pop("cutflow", None) or new_layout(out["cutflow"])
    cards = {}
    for category in CATEGORIES:
        card = stat.Datacard(
            histograms=out["variables"][VARIABLE],
            datasets_metadata=out["datasets_metadata"],
            cutflow=cutflow,
            years=[year],
            mc_processes=mc,
            systematics=stat.Systematics(systs),
            category=category,
            data_processes=data,
            bin_prefix=category_prefix,
            **kw,
        )
        card.dump(
            directory,
            card_name=f"datacard_{category}.txt",
            shapes_name=f"shapes_{category}.root",
        )
        cards[f"datacard_{category}.txt"] = card
    combine.combine_datacards(cards, directory)
    return cards


def run_reference(name, directory, **kw):
    ps = pytest.importorskip("pocket_coffea.utils.stat")
    ps_combine = pytest.importorskip("pocket_coffea.utils.stat.combine")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return workflow(ps, ps_combine, name, directory, **kw)


def run_hifit(name, directory, **kw):
    import hifit.stat.combine as hs_combine

    kw.setdefault("verbose", False)
    kw.setdefault("clip_negative", False)  # pocket-coffea 0.9.13 does not clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hs.StatWarning)
        return workflow(hs, hs_combine, name, directory, **kw)


# ---- loader -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FILES))
def test_load_coffea_without_coffea(name):
    out = load(name)
    assert {"variables", "cutflow", "datasets_metadata", "sumw"} <= set(out)
    h = next(iter(next(iter(out["variables"][VARIABLE].values())).values()))
    assert h.axes[0].name == "cat"
    assert h.storage_type.__name__ == "Weight"
    assert isinstance(
        out["cutflow"]["presel"][next(iter(out["cutflow"]["presel"]))], int
    )


def test_load_coffea_column_accumulator():
    out = load("output_run3")
    column = out["columns"]["DATA_SingleEle"]["DATA_EGamma_2023_EraD"]["baseline"][
        "weight"
    ]
    assert isinstance(column, hs._coffea.ColumnAccumulator)
    assert column.value.shape == (138,)


def test_load_coffea_refuses_other_classes(tmp_path):
    import lz4.frame

    path = tmp_path / "evil.coffea"
    with lz4.frame.open(path, "wb") as fh:
        pickle.dump({"x": Path("/etc/passwd")}, fh)
    with pytest.raises(
        hs.CoffeaLoadError, match=r"refusing to unpickle pathlib\.\w*Path"
    ):
        hs.load_coffea(path)
    plain = tmp_path / "plain.coffea"
    plain.write_bytes(pickle.dumps({"a": {1, 2}}))
    assert hs.load(plain) == {"a": {1, 2}}
    bad = tmp_path / "bad.coffea"
    bad.write_bytes(b"\x04\x22\x4d\x18garbage")
    with pytest.raises(ValueError, match="not a readable .coffea file"):
        hs.load_coffea(bad)


# ---- comparison with pocket-coffea --------------------------------------------------


@pytest.mark.parametrize("name", list(FILES))
def test_workflow_matches_pocket_coffea(name, tmp_path):
    ref = run_reference(name, tmp_path / "ref")
    mine = run_hifit(name, tmp_path / "mine")
    for card_name, card in mine.items():
        r = ref[card_name]
        assert card.bin == r.bin
        assert card.process_id == r.process_id
        for column in card.process_id:
            assert card.rate(column) == pytest.approx(
                r.rate(column), rel=1e-12, abs=1e-9
            )
        assert card.observation == pytest.approx(r.observation, rel=1e-12)
        rt = rows((tmp_path / "ref" / card_name).read_text())
        mt = rows((tmp_path / "mine" / card_name).read_text())
        assert mt["process"] == rt["process"]
        for syst in card.systematics:
            assert len(mt[syst][0]) == len(rt[syst][0])
            for a, b in zip(mt[syst][0][1:], rt[syst][0][1:], strict=True):
                assert a == b or [float(x) for x in a.split("/")] == [
                    float(x) for x in b.split("/")
                ]
        assert (
            mt["SF_bkg" if "SF_bkg" in mt else "SF_ttbar_mu"]
            == rt["SF_bkg" if "SF_bkg" in rt else "SF_ttbar_mu"]
        )
    for category in CATEGORIES:
        fa = uproot.open(tmp_path / "ref" / f"shapes_{category}.root")
        fb = uproot.open(tmp_path / "mine" / f"shapes_{category}.root")
        assert sorted(fa.keys()) == sorted(fb.keys())
        for key in fa.keys(cycle=False):
            np.testing.assert_allclose(
                fb[key].values(), fa[key].values(), rtol=1e-12, atol=1e-12
            )
            np.testing.assert_allclose(
                fb[key].variances(), fa[key].variances(), rtol=1e-12, atol=1e-12
            )
    ref_script = (tmp_path / "ref" / "combine_cards.sh").read_text().split()
    my_script = (tmp_path / "mine" / "combine_cards.sh").read_text().split()
    assert (
        my_script[my_script.index("combineCards.py") :]
        == ref_script[ref_script.index("combineCards.py") :]
    )


def test_rebinned_templates_match_pocket_coffea(tmp_path):
    edges = [0.0, 2.7, 4.5, 6.3, 9.0]  # edges of the 10-bin nJetGood axis
    ref = run_reference(
        "test_new_weights_output_all", tmp_path / "ref", bins_edges=edges
    )
    mine = run_hifit("test_new_weights_output_all", tmp_path / "mine", bins_edges=edges)
    for card_name, card in mine.items():
        for column in card.process_id:
            assert card.rate(column) == pytest.approx(
                ref[card_name].rate(column), rel=1e-12
            )
    fa = uproot.open(tmp_path / "ref" / "shapes_1btag.root")
    fb = uproot.open(tmp_path / "mine" / "shapes_1btag.root")
    for key in fa.keys(cycle=False):
        np.testing.assert_allclose(fb[key].values(), fa[key].values(), rtol=1e-12)
        np.testing.assert_allclose(fb[key].axis().edges(), edges)


# ---- what pocket-coffea gets wrong on these files -----------------------------------


def test_old_cutflow_layout(tmp_path):
    out = load("test_new_weights_output_all")
    with pytest.raises(TypeError):  # pocket-coffea: int is not subscriptable
        run_reference(
            "test_new_weights_output_all", tmp_path / "ref", cutflow=out["cutflow"]
        )
    old = run_hifit(
        "test_new_weights_output_all", tmp_path / "old", cutflow=out["cutflow"]
    )
    new = run_hifit("test_new_weights_output_all", tmp_path / "new")
    for card_name, card in old.items():
        assert card.content("s.root") == new[card_name].content("s.root")


def test_digit_leading_category(tmp_path):
    ref = run_reference("subsample_output_v1", tmp_path / "ref", category_prefix=None)
    assert re.match(
        r"[0-9]", ref["datacard_1btag.txt"].bin
    )  # Combine: "starts with a digit"
    with pytest.raises(
        ValueError, match=r"'1btag_2018'.*starts with a digit.*bin_prefix"
    ):
        run_hifit("subsample_output_v1", tmp_path / "mine", category_prefix=None)


def test_cards_read_back_and_fit_inputs(tmp_path):
    from hifit import _core

    cards = run_hifit("subsample_output_v1", tmp_path, clip_negative=True)
    for card_name, card in cards.items():
        parsed = _core.datacard.parse((tmp_path / card_name).read_text(), card_name)
        assert [c.process for c in parsed.columns] == list(card.process_id)
        assert [c.rate for c in parsed.columns] == [
            card.rate(c) for c in card.process_id
        ]
        assert [n.name for n in parsed.nuisances] == list(card.systematics)
        # every template the card asks for is in the shapes file
        shapes = uproot.open(tmp_path / f"shapes_{card.category}.root")
        for request in _core.datacard.shape_requests(parsed):
            assert f"{request.object};1" in shapes.keys() or not request.required
        templates = card.templates()
        assert (card.bin, "data_obs", "") in templates
        np.testing.assert_allclose(
            templates[(card.bin, "ttbar_ele_2018", "")].contents,
            shapes["ttbar_ele_2018_nominal"].values(),
        )
