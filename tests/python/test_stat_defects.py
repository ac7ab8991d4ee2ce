"""Cases where pocket-coffea 0.9.13's ``utils.stat`` writes a wrong card or crashes,
each next to hifit.stat's output for the same input."""

from __future__ import annotations

import contextlib
import io
import warnings

import hist
import numpy as np
import pytest

import hifit.stat as hs
from hifit.exceptions import InvalidArgument

ps = pytest.importorskip("pocket_coffea.utils.stat")
ps_histogram = pytest.importorskip("pocket_coffea.utils.histogram")

YEARS = ["2022_preEE", "2022_postEE"]


def histogram(scale=1.0, seed=1):
    rng = np.random.default_rng(seed)
    h = hist.Hist(
        hist.axis.StrCategory(["SR"], name="cat"),
        hist.axis.StrCategory(["nominal", "pileupUp", "pileupDown"], name="variation"),
        hist.axis.Regular(4, 0, 4, name="x"),
        storage=hist.storage.Weight(),
    )
    for v, k in (("nominal", 1.0), ("pileupUp", 1.05), ("pileupDown", 0.95)):
        x = rng.uniform(-1, 5, 500)
        h.fill(cat="SR", variation=v, x=x, weight=np.full(500, scale * k))
    return h


def data_histogram():
    h = hist.Hist(
        hist.axis.StrCategory(["SR"], name="cat"),
        hist.axis.Regular(4, 0, 4, name="x"),
        storage=hist.storage.Weight(),
    )
    h.fill(cat="SR", x=np.linspace(0.1, 3.9, 40))
    return h


def make(
    m,
    *,
    signal_scale=1.0,
    cutflow=None,
    data_name="data_obs",
    ttbar_samples=("ttbar",),
    **kw,
):
    histograms = {"signal": {}, "ttbar": {}, "DATA": {}}
    by_period = {}
    for i, y in enumerate(YEARS):
        histograms["signal"][f"signal_{y}"] = histogram(signal_scale, seed=i)
        histograms["ttbar"][f"ttbar_{y}"] = histogram(seed=10 + i)
        histograms["DATA"][f"DATA_{y}"] = data_histogram()
        by_period[y] = {
            "signal": [f"signal_{y}"],
            "ttbar": [f"ttbar_{y}"],
            "DATA": [f"DATA_{y}"],
        }
    datasets = [d for p in by_period.values() for s in p.values() for d in s]
    if cutflow is None:
        cutflow = {"presel": {d: {"nominal": 500} for d in datasets}}
    mc = m.MCProcesses(
        [
            m.MCProcess(name="signal", samples=["signal"], is_signal=True, years=YEARS),
            m.MCProcess(
                name="ttbar",
                samples=list(ttbar_samples),
                is_signal=False,
                years=YEARS,
            ),
        ]
    )
    systs = m.Systematics(
        [
            m.SystematicUncertainty(
                name="xsec",
                typ="lnN",
                processes=["ttbar"],
                years=YEARS,
                value=(0.95, 1.05),
            ),
            m.SystematicUncertainty(
                name="pileup",
                typ="shape",
                processes=["signal", "ttbar"],
                years=YEARS,
                value=1.0,
            ),
        ]
    )
    data = m.DataProcesses(
        [m.DataProcess(name=data_name, samples=["DATA"], years=YEARS)]
    )
    if m is hs:
        kw.setdefault("verbose", False)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", FutureWarning)
        return m.Datacard(
            histograms,
            {"by_datataking_period": by_period},
            cutflow,
            YEARS,
            mc,
            systs,
            "SR",
            data_processes=data,
            **kw,
        )


def row(text, key, nth=0):
    found = [line.split() for line in text.splitlines() if line.split()[:1] == [key]]
    return found[nth]


def test_process_columns_run_together():
    # the docs' own bin_suffix="run3": per-year names longer than the column width
    ref = make(ps, bin_suffix="run3").content("shapes.root")
    assert len(row(ref, "process")) < 1 + 4  # names merged into fewer tokens
    assert "signal_2022_preEEsignal_2022_postEE" in ref
    mine = make(hs, bin_suffix="run3").content("shapes.root")
    assert row(mine, "process") == [
        "process",
        "signal_2022_preEE",
        "signal_2022_postEE",
        "ttbar_2022_preEE",
        "ttbar_2022_postEE",
    ]
    assert len(row(mine, "xsec")) == 2 + 4


def test_small_rates_lose_their_exponent():
    ref = make(ps, signal_scale=1.2345678912e-7)
    mine = make(hs, signal_scale=1.2345678912e-7)
    true_rate = mine.rate("signal_2022_preEE")
    assert true_rate == pytest.approx(ref.rate("signal_2022_preEE"), rel=1e-12)
    assert true_rate < 1e-3
    written_ref = float(row(ref.content("s.root"), "rate")[1])
    written_mine = float(row(mine.content("s.root"), "rate")[1])
    assert written_ref > 1.0  # "3.4567e-05"[:10] drops the exponent
    assert written_mine == true_rate


def test_mcstat_false_and_dict_reuse():
    with pytest.raises(TypeError):
        make(ps, mcstat=False)
    assert "autoMCStats" not in make(hs, mcstat=False).content("s.root")
    shared = {"threshold": 10}
    make(ps, mcstat=shared)
    assert shared == {}  # consumed: the next card silently gets the defaults
    shared = {"threshold": 10}
    cards = [make(hs, mcstat=shared) for _ in range(2)]
    assert [c.mcstat_config["threshold"] for c in cards] == [10, 10]


def test_integer_rebinning():
    with pytest.raises((AttributeError, TypeError, KeyError, ValueError)):
        make(ps, bins_edges=2)
    h = {"s": {"d": histogram()}}
    assert not isinstance(ps_histogram.rebin_hist(2, h), dict)  # a Hist, not the dict
    mine = make(hs, bins_edges=2)
    full = make(hs)
    np.testing.assert_allclose(
        mine.template("ttbar_2022_preEE")[0],
        full.template("ttbar_2022_preEE")[0].reshape(2, 2).sum(axis=1),
    )


def test_under_and_overflow():
    ref = make(ps)
    h = histogram(seed=10)["SR", "nominal", :]
    in_range, with_flow = h.values().sum(), h.values(flow=True).sum()
    assert ref.rate("ttbar_2022_preEE") == pytest.approx(in_range)  # flow dropped
    assert make(hs).rate("ttbar_2022_preEE") == pytest.approx(in_range)
    assert make(hs, flow="fold").rate("ttbar_2022_preEE") == pytest.approx(with_flow)


def test_old_cutflow_layout():
    datasets = [f"{s}_{y}" for s in ("signal", "ttbar") for y in YEARS]
    old = {"presel": {d: 500 for d in datasets + [f"DATA_{y}" for y in YEARS]}}
    with pytest.raises(TypeError):
        make(ps, cutflow=old)
    assert make(hs, cutflow=old).content("s.root") == make(hs).content("s.root")


def test_data_process_not_named_data_obs(tmp_path):
    ref = make(ps, data_name="data")
    with pytest.raises(KeyError), contextlib.redirect_stdout(io.StringIO()):
        ref.dump(tmp_path / "ref")
    mine = make(hs, data_name="data")
    mine.dump(tmp_path / "mine")
    uproot = pytest.importorskip("uproot")
    data = uproot.open(tmp_path / "mine" / "shapes.root")["data_obs_nominal"]
    assert data.values().sum() == pytest.approx(mine.observation) == pytest.approx(80.0)


def test_integer_shape_value():
    with pytest.raises(ValueError):
        ps.SystematicUncertainty(
            name="x", typ="shape", processes=["a"], years=["y"], value=1
        )
    s = hs.SystematicUncertainty(
        name="x", typ="shape", processes=["a"], years=["y"], value=1
    )
    assert s.processes == {"a": 1.0}


def test_a_sample_in_neither_metadata_nor_histograms_is_an_error():
    # a typo in a process's sample list: pocket-coffea refuses it ("Missing histogram
    # for sample"); hifit.stat refuses it too, naming the process and the sample,
    # instead of writing the column without it
    with pytest.raises(ValueError, match="Missing histogram for sample ttbar_semilep"):
        make(ps, ttbar_samples=("ttbar", "ttbar_semilep"))
    with pytest.raises(InvalidArgument) as err:
        make(hs, ttbar_samples=("ttbar", "ttbar_semilep"))
    assert isinstance(err.value, ValueError)
    assert str(err.value).startswith(
        "process 'ttbar': sample 'ttbar_semilep' is in neither datasets_metadata nor "
        "the histograms"
    )


def test_data_listed_as_an_mc_process_is_refused():
    # pocket-coffea crashes on the data histogram's missing variation axis
    with pytest.raises(KeyError, match="variation not found in axes"):
        make(ps, ttbar_samples=("ttbar", "DATA"))
    with pytest.raises(
        InvalidArgument, match=r"^MC process 'ttbar': sample 'DATA' \(dataset 'DATA_"
    ):
        make(hs, ttbar_samples=("ttbar", "DATA"))
