"""hifit.stat on synthetic ``hist`` inputs laid out as PocketCoffea stores them.

Where pocket-coffea's own ``utils.stat`` produces a valid card, hifit must give the same
rates, systematic entries and template contents; the cases it gets wrong are in
``test_stat_defects.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat as stat_module
import warnings

import hist
import numpy as np
import pytest

import hifit.stat as hs
from hifit.exceptions import InvalidArgument
from hifit.stat.combine import combine_datacards

uproot = pytest.importorskip("uproot")

YEARS = ["2022_preEE", "2022_postEE"]
EDGES = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
SHIFT = {"nominal": 1.0, "Up": 1.08, "Down": 0.93}


def mc_hist(seed, variations=("pileup", "JES"), cats=("SR", "CR"), n=600):
    """(cat, variation, x) Weight histogram; variations rescale the nominal weights."""
    rng = np.random.default_rng(seed)
    names = ["nominal"] + [f"{v}{s}" for v in variations for s in ("Up", "Down")]
    h = hist.Hist(
        hist.axis.StrCategory(list(cats), name="cat", label="Category"),
        hist.axis.StrCategory(sorted(names), name="variation", label="Variation"),
        hist.axis.Variable(EDGES, name="x", label="observable"),
        storage=hist.storage.Weight(),
    )
    for c in cats:
        x = rng.uniform(-0.5, 6.8, n)  # some entries land in under/overflow
        w = rng.normal(1.0, 0.2, n)
        for v in names:
            shift = (
                "nominal" if v == "nominal" else ("Up" if v.endswith("Up") else "Down")
            )
            # distinct variations: the factor depends on the name length too
            k = SHIFT[shift] * (1 + 0.01 * len(v) * (v != "nominal"))
            h.fill(cat=c, variation=v, x=x, weight=w * k)
    return h


def data_hist(seed, cats=("SR", "CR"), n=900):
    rng = np.random.default_rng(seed)
    h = hist.Hist(
        hist.axis.StrCategory(list(cats), name="cat"),
        hist.axis.Variable(EDGES, name="x"),
        storage=hist.storage.Weight(),
    )
    for c in cats:
        h.fill(cat=c, x=rng.uniform(-0.5, 6.8, n))
    return h


def inputs(years=YEARS):
    """histograms, datasets_metadata and cutflow (current layout) for three samples."""
    histograms = {"signal": {}, "ttbar": {}, "DATA": {}}
    by_period = {}
    presel = {}
    for i, y in enumerate(years):
        histograms["signal"][f"signal_{y}"] = mc_hist(10 + i, n=200)
        histograms["ttbar"][f"ttbar_{y}"] = mc_hist(20 + i)
        histograms["DATA"][f"DATA_{y}_EraA"] = data_hist(30 + i)
        by_period[y] = {
            "signal": {f"signal_{y}"},
            "ttbar": {f"ttbar_{y}"},
            "DATA": {f"DATA_{y}_EraA"},
        }
        presel.update({d: {"nominal": 100} for s in by_period[y].values() for d in s})
    return histograms, {"by_datataking_period": by_period}, {"presel": presel}


def build(m, category="SR", years=YEARS, data_name="data_obs", **kw):
    """The same datacard through module ``m`` (hifit.stat or pocket-coffea)."""
    histograms, metadata, cutflow = inputs(years)
    mc = m.MCProcesses(
        [
            m.MCProcess(name="signal", samples=["signal"], is_signal=True, years=years),
            m.MCProcess(
                name="ttbar",
                samples=["ttbar"],
                is_signal=False,
                years=years,
                has_rateParam=True,
            ),
        ]
    )
    systs = [
        m.SystematicUncertainty(
            name="lumi",
            typ="lnN",
            processes=["signal", "ttbar"],
            years=years,
            value=1.014,
        ),
        m.SystematicUncertainty(
            name="xsec", typ="lnN", processes=["ttbar"], years=years, value=(0.95, 1.05)
        ),
        m.SystematicUncertainty(
            name="norm", typ="lnN", processes={"signal": 1.1, "ttbar": 1.2}, years=years
        ),
        m.SystematicUncertainty(
            name="pileup",
            typ="shape",
            processes=["signal", "ttbar"],
            years=years,
            value=1.0,
        ),
        m.SystematicUncertainty(
            name="jes",
            typ="shape",
            processes=["ttbar"],
            years=years,
            value=1.0,
            coffea_name_alias="JES",
        ),
    ]
    # decorrelated by year: one row per year, same coffea variation
    systs += [
        m.SystematicUncertainty(
            name=f"pu_{y}",
            typ="shape",
            processes=["signal"],
            years=[y],
            value=1.0,
            datacard_name=f"pu_{y}",
            coffea_name_alias="pileup",
        )
        for y in years
    ]
    data = m.DataProcesses(
        [m.DataProcess(name=data_name, samples=["DATA"], years=years)]
    )
    kw.setdefault("data_processes", data)
    return m.Datacard(
        histograms, metadata, cutflow, years, mc, m.Systematics(systs), category, **kw
    )


def reference(category="SR", **kw):
    """pocket-coffea's Datacard (its prints and numpy warnings silenced)."""
    ps = pytest.importorskip("pocket_coffea.utils.stat")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its 0/0 in _check_shapes
        warnings.simplefilter("ignore", FutureWarning)  # its use of _storage_type
        return build(ps, category, **kw)


def quiet(category="SR", **kw):
    kw.setdefault("verbose", False)
    return build(hs, category, **kw)


def rows(text):
    """{first token: [tokens, ...]} of a card, Combine-style whitespace splitting."""
    out = {}
    for line in text.splitlines():
        t = line.split()
        if t and not line.startswith(("#", "--")):
            out.setdefault(t[0], []).append(t)
    return out


def dump_pair(ref, mine, tmp_path):
    with contextlib.redirect_stdout(io.StringIO()):
        ref.dump(tmp_path / "ref")
    mine.dump(tmp_path / "mine")
    return (
        uproot.open(tmp_path / "ref" / "shapes.root"),
        uproot.open(tmp_path / "mine" / "shapes.root"),
    )


# ---- comparison with pocket-coffea --------------------------------------------------


def test_rates_and_observation_match_pocket_coffea():
    ref, mine = reference(), quiet()
    columns = [f"{p}_{y}" for p in ("signal", "ttbar") for y in YEARS]
    assert list(mine.process_id) == columns
    assert mine.process_id == ref.process_id
    for col in columns:
        assert mine.rate(col) == pytest.approx(ref.rate(col), rel=1e-12)
    assert mine.observation == pytest.approx(ref.observation, rel=1e-12)
    assert (mine.imax, mine.jmax, mine.kmax) == (ref.imax, ref.jmax, ref.kmax)
    assert mine.bin == ref.bin == "SR_2022_preEE_2022_postEE"


def test_card_entries_match_pocket_coffea():
    ref, mine = reference(), quiet()
    r = rows(ref.content("shapes.root"))
    h = rows(mine.content("shapes.root"))
    assert h["process"] == r["process"]  # names and ids
    assert h["bin"][1] == r["bin"][1]
    assert [float(x) for x in h["rate"][0][1:]] == pytest.approx(
        [float(x) for x in r["rate"][0][1:]], rel=1e-8
    )  # pocket-coffea truncates rates to 10 characters
    assert float(h["observation"][0][1]) == float(r["observation"][0][1])
    for name in mine.systematics:
        ref_entries = [x if x == "-" else x.split("/") for x in r[name][0][2:]]
        my_entries = [x if x == "-" else x.split("/") for x in h[name][0][2:]]
        assert h[name][0][1] == r[name][0][1]  # type
        for a, b in zip(my_entries, ref_entries, strict=True):
            assert a == b or [float(v) for v in a] == [float(v) for v in b]
    assert h["SF_ttbar"] == r["SF_ttbar"]
    assert h[mine.bin] == r[ref.bin] == [[mine.bin, "autoMCStats", "0", "0", "1"]]
    assert h["shapes"] == r["shapes"]


def test_templates_match_pocket_coffea(tmp_path):
    fa, fb = dump_pair(reference(), quiet(), tmp_path)
    assert sorted(fa.keys()) == sorted(fb.keys())
    assert "data_obs_nominal;1" in fb.keys()
    assert "signal_2022_preEE_pu_2022_preEEUp;1" in fb.keys()
    assert "signal_2022_preEE_pu_2022_postEEUp;1" not in fb.keys()
    for key in fa.keys(cycle=False):
        a, b = fa[key], fb[key]
        assert b.classname == "TH1D"
        np.testing.assert_allclose(b.values(), a.values(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(b.variances(), a.variances(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(b.axis().edges(), a.axis().edges())
        assert b.values(flow=True)[[0, -1]].tolist() == [0.0, 0.0]


def test_rebinning_by_edges_matches_pocket_coffea(tmp_path):
    edges = [1.0, 2.0, 4.0, 6.0]  # drops the first bin, merges 2-4 and 4-6
    fa, fb = dump_pair(reference(bins_edges=edges), quiet(bins_edges=edges), tmp_path)
    for key in fa.keys(cycle=False):
        np.testing.assert_allclose(fb[key].values(), fa[key].values(), rtol=1e-12)
        np.testing.assert_allclose(fb[key].variances(), fa[key].variances(), rtol=1e-12)
        np.testing.assert_allclose(fb[key].axis().edges(), edges)


def test_mcstat_dict_and_rateparam_match_pocket_coffea():
    opts = {"threshold": 10, "include_signal": 1}
    r = rows(reference(mcstat=dict(opts)).content("s.root"))
    h = rows(quiet(mcstat=dict(opts)).content("s.root"))
    assert h["SR_2022_preEE_2022_postEE"] == r["SR_2022_preEE_2022_postEE"]
    assert h["SR_2022_preEE_2022_postEE"][0][2:] == ["10", "1", "1"]


# ---- behaviour ----------------------------------------------------------------------


def test_columns_are_per_year_and_data_is_summed_over_years():
    card = quiet()
    histograms, _, _ = inputs()
    assert card.mc_processes.signal_processes == [
        "signal_2022_preEE",
        "signal_2022_postEE",
    ]
    assert card.process_id["signal_2022_postEE"] == -1
    assert card.process_id["ttbar_2022_postEE"] == 2
    expected = sum(h["SR", :].values().sum() for h in histograms["DATA"].values())
    assert card.observation == pytest.approx(expected, rel=1e-12)
    pre = histograms["ttbar"]["ttbar_2022_preEE"]["SR", "nominal", :].values()
    assert card.rate("ttbar_2022_preEE") == pytest.approx(pre.sum(), rel=1e-12)


def test_shape_alias_string_and_dict():
    card = quiet()
    h = inputs()[0]["ttbar"]["ttbar_2022_preEE"]
    up = card.template("ttbar_2022_preEE", "jesUp")[0]
    np.testing.assert_allclose(up, h["SR", "JESUp", :].values(), rtol=1e-12)
    # dict alias: ttbar reads "JES" from "pileup", the others fall back to the name
    s = hs.SystematicUncertainty(
        name="JES",
        typ="shape",
        processes=["ttbar", "signal"],
        years=YEARS,
        value=1.0,
        coffea_name_alias={"ttbar": "pileup"},
    )
    assert s.get_coffea_name("ttbar") == "pileup"
    assert s.get_coffea_name("signal") == "JES"


def test_missing_variation_falls_back_to_nominal_with_notice(capsys):
    histograms, metadata, cutflow = inputs(["2018"])
    mc = hs.MCProcesses(
        [hs.MCProcess(name="ttbar", samples=["ttbar"], is_signal=True, years=["2018"])]
    )
    systs = hs.Systematics(
        [
            hs.SystematicUncertainty(
                name="nope", typ="shape", processes=["ttbar"], years=["2018"], value=1.0
            )
        ]
    )
    card = hs.Datacard(histograms, metadata, cutflow, ["2018"], mc, systs, "SR")
    assert "Setting `nopeUp` variation to nominal variation" in capsys.readouterr().out
    nominal = card.template("ttbar_2018")[0]
    np.testing.assert_array_equal(card.template("ttbar_2018", "nopeUp")[0], nominal)


def test_large_variation_warns():
    histograms, metadata, cutflow = inputs(["2018"])
    h = histograms["ttbar"]["ttbar_2018"]
    h.view().value[
        h.axes["cat"].index("SR"), h.axes["variation"].index("pileupUp")
    ] *= 3
    mc = hs.MCProcesses(
        [hs.MCProcess(name="tt", samples=["ttbar"], is_signal=True, years=["2018"])]
    )
    systs = hs.Systematics(
        [
            hs.SystematicUncertainty(
                name="pileup", typ="shape", processes=["tt"], years=["2018"], value=1.0
            )
        ]
    )
    with pytest.warns(hs.LargeVariationWarning, match="pileupUp for process tt_2018"):
        hs.Datacard(
            histograms, metadata, cutflow, ["2018"], mc, systs, "SR", verbose=False
        )


def test_flow_fold_adds_under_and_overflow_to_edge_bins(capsys):
    dropped = build(hs, "SR")
    assert "were dropped; pass flow='fold'" in capsys.readouterr().out
    folded = quiet(flow="fold")
    h = inputs()[0]["ttbar"]["ttbar_2022_preEE"]["SR", "nominal", :]
    full = h.values(flow=True)
    expected = full[1:-1].copy()
    expected[0] += full[0]
    expected[-1] += full[-1]
    np.testing.assert_allclose(
        folded.template("ttbar_2022_preEE")[0], expected, rtol=1e-12
    )
    assert folded.rate("ttbar_2022_preEE") == pytest.approx(full.sum(), rel=1e-12)
    assert dropped.rate("ttbar_2022_preEE") == pytest.approx(
        full[1:-1].sum(), rel=1e-12
    )
    # cut-away bins fold too: [2, 4] keeps everything in two bins
    narrow = quiet(flow="fold", bins_edges=[2.0, 3.0, 4.0])
    assert narrow.rate("ttbar_2022_preEE") == pytest.approx(full.sum(), rel=1e-12)


def test_integer_rebinning_merges_adjacent_bins():
    card = quiet(bins_edges=2)
    base = quiet()
    for col in base.process_id:
        v, w2 = base.template(col)
        nv, nw2 = card.template(col)
        np.testing.assert_allclose(nv, v.reshape(-1, 2).sum(axis=1), rtol=1e-12)
        np.testing.assert_allclose(nw2, w2.reshape(-1, 2).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(card.histogram.axes[-1].edges, [0, 2, 4, 6])
    with pytest.raises(ValueError, match="4 must divide 6"):
        quiet(bins_edges=4)
    with pytest.raises(ValueError, match=r"edge 2\.5 is not an edge"):
        quiet(bins_edges=[0.0, 2.5, 6.0])


def test_mcstat_options():
    text = quiet(mcstat=False).content("s.root")
    assert "autoMCStats" not in text
    opts = {"threshold": 5}
    card = quiet(mcstat=opts)
    assert opts == {"threshold": 5}  # not consumed
    assert card.mcstat_config == {"threshold": 5, "include_signal": 0, "hist_mode": 1}
    assert rows(card.content("s.root"))[card.bin][0] == [
        card.bin,
        "autoMCStats",
        "5",
        "0",
        "1",
    ]
    with pytest.raises(ValueError, match="Unknown keys in mcstat: bogus"):
        quiet(mcstat={"bogus": 1})
    with pytest.raises(TypeError, match="mcstat must be a bool or a dict"):
        quiet(mcstat="yes")


def test_rateparam_lines_only_for_backgrounds():
    r = rows(quiet().content("s.root"))
    assert r["SF_ttbar"] == [
        ["SF_ttbar", "rateParam", "*", f"ttbar_{y}", "1", "[0,5]"] for y in YEARS
    ]
    assert "SF_signal" not in r


def test_no_data_gives_observation_minus_one(tmp_path):
    card = quiet(data_processes=None)
    assert card.observation == -1
    assert rows(card.content("s.root"))["observation"] == [["observation", "-1"]]
    card.dump(tmp_path)
    assert "data_obs_nominal;1" not in uproot.open(tmp_path / "shapes.root").keys()


def test_bin_names_combine_refuses():
    # checked before any histogram is read
    with pytest.raises(ValueError, match=r"'SR-x_run3'.*contains '-'"):
        quiet(category="SR-x", bin_suffix="run3")
    with pytest.raises(ValueError, match="starts with a digit.*bin_prefix"):
        quiet(category="1btag")
    assert quiet(bin_suffix="").bin == "SR"
    assert quiet(bin_prefix="mu", bin_suffix="run3").bin == "mu_SR_run3"


def test_bad_inputs_have_clear_errors():
    with pytest.raises(ValueError, match="category 'XX' not in the histogram"):
        quiet(category="XX")
    with pytest.raises(ValueError, match="year '2017' is not in datasets_metadata"):
        hs.Datacard(
            *inputs(["2018"]),
            ["2017"],
            hs.MCProcesses(
                [
                    hs.MCProcess(
                        name="t", samples=["ttbar"], is_signal=True, years=["2017"]
                    )
                ]
            ),
            hs.Systematics([]),
            "SR",
        )
    histograms, metadata, cutflow = inputs(["2018"])
    del histograms["ttbar"]
    with pytest.raises(ValueError, match="Missing histogram for sample 'ttbar'"):
        hs.Datacard(
            histograms,
            metadata,
            cutflow,
            ["2018"],
            hs.MCProcesses(
                [
                    hs.MCProcess(
                        name="t", samples=["ttbar"], is_signal=True, years=["2018"]
                    )
                ]
            ),
            hs.Systematics([]),
            "SR",
        )
    with pytest.raises(NotImplementedError, match="Only one data process"):
        quiet(data_processes=hs.DataProcesses([]))


def test_empty_dataset_is_skipped_and_missing_one_is_an_error():
    histograms, metadata, cutflow = inputs(["2018"])
    metadata["by_datataking_period"]["2018"]["ttbar"].add("ttbar_extra")
    mc = hs.MCProcesses(
        [hs.MCProcess(name="t", samples=["ttbar"], is_signal=True, years=["2018"])]
    )
    args = (histograms, metadata)
    card = hs.Datacard(
        *args, cutflow, ["2018"], mc, hs.Systematics([]), "SR", verbose=False
    )
    assert card.rate("t_2018") > 0  # ttbar_extra is not in the cutflow: empty
    cutflow["presel"]["ttbar_extra"] = 12  # old layout, 12 events: must exist
    with pytest.raises(ValueError, match="'ttbar_extra' not found in histograms"):
        hs.Datacard(
            *args, cutflow, ["2018"], mc, hs.Systematics([]), "SR", verbose=False
        )


def test_process_and_systematic_validation():
    with pytest.raises(ValueError, match="Duplicate MC process name"):
        hs.MCProcesses(
            [hs.MCProcess(name="a", samples=["s"], is_signal=True, years=["y"])] * 2
        )
    with pytest.raises(TypeError, match="MCProcess objects"):
        hs.MCProcesses([hs.DataProcess(name="d", samples=["s"], years=["y"])])
    with pytest.raises(ValueError, match="process name 'a b'"):
        hs.MCProcess(name="a b", samples=["s"], is_signal=True, years=["y"])
    with pytest.raises(ValueError, match="no value"):
        hs.SystematicUncertainty(name="x", typ="lnN", processes=["a"], years=["y"])
    with pytest.raises(ValueError, match="not both"):
        hs.SystematicUncertainty(
            name="x", typ="lnN", processes={"a": 1.1}, years=["y"], value=1.1
        )
    with pytest.raises(ValueError, match="is not one of"):
        hs.SystematicUncertainty(
            name="x", typ="gauss", processes=["a"], years=["y"], value=1.1
        )
    with pytest.raises(ValueError, match="kappa"):
        hs.SystematicUncertainty(
            name="x", typ="lnN", processes=["a"], years=["y"], value=-1.0
        )
    with pytest.raises(ValueError, match="Duplicate systematic datacard name"):
        hs.Systematics(
            [
                hs.SystematicUncertainty(
                    name="x", typ="lnN", processes=["a"], years=["y"], value=1.1
                )
            ]
            * 2
        )
    # an integer scale is fine (pocket-coffea rejects value=1)
    s = hs.SystematicUncertainty(
        name="x", typ="shape", processes=["a"], years=["y"], value=1
    )
    assert s.processes == {"a": 1.0}
    systs = hs.Systematics([s])
    assert systs.variations_names == ["xUp", "xDown"]
    assert systs.list_type("shape") == ["x"]


def test_negative_bins_are_clipped_with_warning():
    histograms, metadata, cutflow = inputs(["2018"])
    h = histograms["ttbar"]["ttbar_2018"]
    view = h.view()
    i = h.axes["cat"].index("SR")
    view.value[i, :, 2] = -3.0
    mc = hs.MCProcesses(
        [hs.MCProcess(name="t", samples=["ttbar"], is_signal=True, years=["2018"])]
    )
    with pytest.warns(hs.NegativeBinWarning, match="t_2018 nominal"):
        card = hs.Datacard(
            histograms,
            metadata,
            cutflow,
            ["2018"],
            mc,
            hs.Systematics([]),
            "SR",
            verbose=False,
        )
    v, w2 = card.template("t_2018")
    assert v[2] == 0.0 and w2[2] == 0.0
    assert card.rate("t_2018") == pytest.approx(v.sum())
    kept = hs.Datacard(
        histograms,
        metadata,
        cutflow,
        ["2018"],
        mc,
        hs.Systematics([]),
        "SR",
        verbose=False,
        clip_negative=False,
    )
    assert kept.template("t_2018")[0][2] == -3.0


def test_shape_only_for_rateparam_keeps_normalisation():
    card = quiet(shape_only_for_rateparam=True)
    plain = quiet()
    histograms = inputs()[0]["ttbar"]
    nominal = sum(h[:, "nominal", :].sum(flow=True).value for h in histograms.values())
    up = sum(h[:, "JESUp", :].sum(flow=True).value for h in histograms.values())
    for y in YEARS:
        np.testing.assert_allclose(
            card.template(f"ttbar_{y}", "jesUp")[0],
            plain.template(f"ttbar_{y}", "jesUp")[0] * nominal / up,
            rtol=1e-12,
        )
    # signal has no rateParam: untouched
    np.testing.assert_array_equal(
        card.template("signal_2022_preEE", "pileupUp")[0],
        plain.template("signal_2022_preEE", "pileupUp")[0],
    )


def test_histogram_property_layout():
    card = quiet()
    h = card.histogram
    assert [a.name for a in h.axes] == ["process", "variation", "x"]
    assert list(h.axes["variation"]) == card.shape_variations
    np.testing.assert_allclose(
        h["ttbar_2022_preEE", "jesUp", :].values(),
        card.template("ttbar_2022_preEE", "jesUp")[0],
    )
    assert card.data_obs["data_obs", :].sum().value == pytest.approx(card.observation)


# ---- output -------------------------------------------------------------------------


def test_dump_is_atomic_and_leaves_no_temporaries(tmp_path, monkeypatch):
    card = quiet()
    card.dump(tmp_path, card_name="card.txt", shapes_name="s.root")
    assert sorted(os.listdir(tmp_path)) == ["card.txt", "s.root"]
    before = (tmp_path / "card.txt").read_text()

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hs.combine, "write_text_atomic", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        card.dump(tmp_path, card_name="card.txt", shapes_name="s.root")
    assert sorted(os.listdir(tmp_path)) == ["card.txt", "s.root"]
    assert (tmp_path / "card.txt").read_text() == before


def test_combine_datacards_script(tmp_path):
    cards = {"datacard_SR.txt": quiet("SR"), "datacard_CR.txt": quiet("CR")}
    combine_datacards(cards, tmp_path, channel_masks=True)
    script = (tmp_path / "combine_cards.sh").read_text().splitlines()
    assert script[0] == "#!/bin/bash"
    assert script[-2] == (
        "combineCards.py SR_2022_preEE_2022_postEE=datacard_SR.txt "
        "CR_2022_preEE_2022_postEE=datacard_CR.txt > datacard_combined.txt"
    )
    assert (
        script[-1]
        == "text2workspace.py datacard_combined.txt -o workspace.root --channel-masks"
    )
    assert os.stat(tmp_path / "combine_cards.sh").st_mode & stat_module.S_IXUSR
    with pytest.raises(ValueError, match=r"\.sh extension"):
        combine_datacards(cards, tmp_path, path="x.txt")
    with pytest.raises(ValueError, match="share bin name"):
        combine_datacards(
            {"a.txt": cards["datacard_SR.txt"], "b.txt": quiet("SR")}, tmp_path
        )


def test_combine_script_matches_pocket_coffea_commands(tmp_path):
    ps_combine = pytest.importorskip("pocket_coffea.utils.stat.combine")
    refs = {"datacard_SR.txt": reference("SR"), "datacard_CR.txt": reference("CR")}
    with contextlib.redirect_stdout(io.StringIO()):
        ps_combine.combine_datacards(refs, tmp_path / "ref")
    combine_datacards(
        {"datacard_SR.txt": quiet("SR"), "datacard_CR.txt": quiet("CR")},
        tmp_path / "me",
    )
    ref = [
        line.split()
        for line in (tmp_path / "ref" / "combine_cards.sh").read_text().splitlines()
    ]
    mine = [
        line.split()
        for line in (tmp_path / "me" / "combine_cards.sh").read_text().splitlines()
    ]
    assert [t for t in mine if t and t[0].endswith(".py")] == [
        t for t in ref if t and t[0].endswith(".py")
    ]


# ---- read-back through the C++ datacard reader --------------------------------------


def test_card_reads_back_with_the_datacard_parser(tmp_path):
    from hifit import _core

    card = quiet()
    card.dump(tmp_path)
    text = (tmp_path / "datacard.txt").read_text()
    parsed = _core.datacard.parse(text, str(tmp_path / "datacard.txt"))
    built = card.to_card("shapes.root")
    assert parsed.bins == [card.bin]
    assert parsed.observation == [card.observation]
    assert [(c.bin, c.process, c.process_id, c.rate) for c in parsed.columns] == [
        (c.bin, c.process, c.process_id, c.rate) for c in built.columns
    ]
    assert [n.name for n in parsed.nuisances] == list(card.systematics)
    for a, b in zip(parsed.nuisances, built.nuisances, strict=True):
        assert a.kind == b.kind
        assert [(e.active, e.asymmetric, e.lo, e.hi) for e in a.effects] == [
            (e.active, e.asymmetric, e.lo, e.hi) for e in b.effects
        ]
    assert [(r.name, r.process, r.init, r.range) for r in parsed.rate_params] == [
        ("SF_ttbar", f"ttbar_{y}", 1.0, (0.0, 5.0)) for y in YEARS
    ]
    assert [
        (a.bin, a.threshold, a.include_signal, a.hist_mode)
        for a in parsed.auto_mc_stats
    ] == [(card.bin, 0.0, False, 1)]
    assert [
        (s.process, s.channel, s.file, s.nominal, s.systematic) for s in parsed.shapes
    ] == [("*", card.bin, "shapes.root", "$PROCESS_nominal", "$PROCESS_$SYSTEMATIC")]
    # the written card is a fixed point of parse -> write
    assert _core.datacard.write(parsed, "") == _core.datacard.write(built, "")


@pytest.mark.parametrize("mcstat", [True, False], ids=["autoMCStats", "no_mcstat"])
def test_card_fits_directly(mcstat):
    from hifit.infer.mle import fit

    card = quiet(mcstat=mcstat)
    model, data = card.model()
    assert model.config.poi_name == "r"
    assert {"lumi", "xsec", "pileup", "SF_ttbar"} <= set(model.config.par_names)
    expected = model.expected_actualdata(model.config.suggested_init())
    rates = sum(card.rate(c) for c in card.process_id)
    # Combine (and hifit's model of it) keeps templates in single precision
    assert expected.sum() == pytest.approx(rates, rel=1e-6)
    assert data[: len(expected)].sum() == pytest.approx(card.observation)
    result = fit(data, model)
    assert result.valid


def test_a_dataset_marked_as_data_is_refused_in_an_mc_process():
    # PocketCoffea's datasets_metadata["by_dataset"][dataset]["isMC"] is the string
    # "False" for data; such a dataset cannot be a prediction even with MC-like axes
    histograms, metadata, cutflow = inputs(["2018"])
    mc = hs.MCProcesses(
        [hs.MCProcess(name="t", samples=["ttbar"], is_signal=True, years=["2018"])]
    )
    args = (histograms, metadata, cutflow, ["2018"], mc, hs.Systematics([]), "SR")
    metadata["by_dataset"] = {"ttbar_2018": {"isMC": "True"}}
    assert hs.Datacard(*args, verbose=False).rate("t_2018") > 0
    metadata["by_dataset"] = {"ttbar_2018": {"isMC": "False"}}
    with pytest.raises(
        InvalidArgument,
        match=r"^MC process 't': sample 'ttbar' \(dataset 'ttbar_2018'\) is data",
    ):
        hs.Datacard(*args, verbose=False)
