"""hifit.datacard.read: every shared Combine card with its templates (read by uproot),
the error messages, and the cards hifit.stat writes read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import hifit
from hifit import datacard
from hifit.exceptions import HifitError, InvalidSpec

uproot = pytest.importorskip("uproot")

COMBINE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
CARDS = sorted(p for p in COMBINE.glob("*/**/*.txt"))
# Combine itself rejects this card: its bins "0j" and "1j" start with a digit.
DIGIT_BIN_CARD = COMBINE / "tutorials" / "counting" / "simple-multi-channel.txt"
GOOD_CARDS = [p for p in CARDS if p != DIGIT_BIN_CARD]
SHAPES_CARD = COMBINE / "tutorials" / "shapes" / "simple-shapes-TH1.txt"
SHAPES_ROOT = SHAPES_CARD.parent / "simple-shapes-TH1_input.root"


K = hifit._core.datacard.NuisanceKind
SHAPE_KINDS = (K.shape, K.shapeN, K.shapeU)


def mass_of(path: Path) -> float:
    return 200.0 if "Interp" in path.name else 125.0


def test_the_shared_cards_are_there():
    assert len(CARDS) >= 20
    assert DIGIT_BIN_CARD in CARDS


@pytest.mark.parametrize("path", GOOD_CARDS, ids=lambda p: p.stem)
def test_every_shared_card_reads_with_its_templates(path):
    card, templates = datacard.read(path, mass=mass_of(path))
    real_files = [s for s in card.shapes if s.file != "FAKE"]
    assert bool(templates) == bool(real_files)
    for (channel, _process, variation), hist in templates.items():
        assert channel in card.bins
        assert len(hist.contents) == len(hist.sumw2) == len(hist.edges) - 1
        assert np.all(np.isfinite(hist.contents))
        assert np.all(np.asarray(hist.sumw2) >= 0)
        if variation:
            assert variation.endswith(("Up", "Down"))
    if not real_files:
        return
    # every nonzero column has its nominal; rates match the integrals within 1 %
    for col in card.columns:
        if col.rate == 0:
            continue
        hist = templates[(col.bin, col.process, "")]
        if col.rate > 0:
            assert sum(hist.contents) == pytest.approx(col.rate, rel=0.01, abs=0.01)
    for i, b in enumerate(card.bins):
        data = templates[(b, "data_obs", "")]
        if card.observation and card.observation[i] >= 0:
            assert sum(data.contents) == pytest.approx(card.observation[i], rel=0.005)
    # every active shape entry has both variations
    for n in card.nuisances:
        if n.kind in SHAPE_KINDS:
            for col, eff in zip(card.columns, n.effects, strict=True):
                if eff.active and col.rate != 0:
                    assert (col.bin, col.process, n.name + "Up") in templates
                    assert (col.bin, col.process, n.name + "Down") in templates


def test_template_values_are_the_root_histograms():
    path = COMBINE / "ci" / "template-analysis_shapeInterp.txt"
    card, templates = datacard.read(path, mass=200)
    with uproot.open(COMBINE / "ci" / "htt_input.root") as f:
        bbh = f["htt_tt_9_13TeV/bbH200"]
        up = f["htt_tt_9_13TeV/TTT_CMS_eff_t_mssmHigh_tt_13TeVUp"]
        np.testing.assert_array_equal(
            templates[("htt_tt_9_13TeV", "bbH", "")].contents, bbh.values()
        )
        np.testing.assert_array_equal(
            templates[("htt_tt_9_13TeV", "bbH", "")].sumw2, bbh.variances()
        )
        np.testing.assert_array_equal(
            templates[("htt_tt_9_13TeV", "bbH", "")].edges, bbh.axis().edges()
        )
        np.testing.assert_array_equal(
            templates[
                ("htt_tt_9_13TeV", "TTT", "CMS_eff_t_mssmHigh_tt_13TeVUp")
            ].contents,
            up.values(),
        )
    assert card.source == str(path)
    assert sum(templates[("htt_tt_9_13TeV", "bbH", "")].contents) == pytest.approx(
        198.521, rel=0.01
    )


def test_a_few_integrals_against_the_card():
    _, t = datacard.read(SHAPES_CARD)
    assert sum(t[("bin1", "signal", "")].contents) == pytest.approx(10, rel=0.01)
    assert sum(t[("bin1", "background", "")].contents) == pytest.approx(100, rel=0.01)
    assert sum(t[("bin1", "data_obs", "")].contents) == pytest.approx(85, rel=0.005)
    assert ("bin1", "background", "alphaUp") in t
    assert ("bin1", "signal", "sigmaDown") in t
    assert ("bin1", "signal", "alphaUp") not in t  # '-' in the card


def test_counting_and_fake_cards_have_no_templates():
    for rel in (
        "tutorials/counting/realistic-counting-experiment.txt",
        "tutorials/CAT23001/datacard-5-multi-signal.txt",
    ):
        card, templates = datacard.read(COMBINE / rel)
        assert templates == {}
        assert card.columns


def test_digit_leading_bin_is_an_error():
    with pytest.raises(InvalidSpec) as err:
        datacard.read(DIGIT_BIN_CARD)
    assert str(err.value) == (
        f"{DIGIT_BIN_CARD}:8: expected a bin name not starting with a digit, found '0j'"
    )


def _card(tmp_path: Path, shapes: str, rows: str = "") -> Path:
    path = tmp_path / "card.txt"
    path.write_text(
        "imax 1\njmax 1\nkmax *\n"
        f"{shapes}\n"
        "bin bin1\nobservation 85\n"
        "bin bin1 bin1\nprocess signal background\nprocess 0 1\nrate 10 100\n"
        f"{rows}"
    )
    return path


def test_missing_root_file_names_card_line_and_file(tmp_path):
    path = _card(tmp_path, "shapes * * nowhere.root $PROCESS $PROCESS_$SYSTEMATIC")
    with pytest.raises(InvalidSpec) as err:
        datacard.read(path)
    missing = tmp_path / "nowhere.root"
    assert str(err.value) == (
        f"{path}:4: the shapes file {str(missing)!r} does not exist"
    )
    assert isinstance(err.value, HifitError)


def test_missing_object_names_card_line_file_and_object(tmp_path):
    shutil.copy(SHAPES_ROOT, tmp_path / "in.root")
    path = _card(
        tmp_path,
        "shapes * * in.root $PROCESS $PROCESS_$SYSTEMATIC\n"
        "shapes signal * in.root sig_$MASS",
    )
    with pytest.raises(InvalidSpec) as err:
        datacard.read(path, mass=125)
    assert str(err.value) == (
        f"{path}:5: no object 'sig_125' in {str(tmp_path / 'in.root')!r}"
    )
    path = _card(
        tmp_path,
        "shapes * * in.root $PROCESS $PROCESS_$SYSTEMATIC",
        "beta shape 1 -\n",
    )
    with pytest.raises(InvalidSpec) as err:
        datacard.read(path)
    assert str(err.value) == (
        f"{path}:4: no object 'signal_betaUp' in {str(tmp_path / 'in.root')!r} "
        "(variation betaUp of signal in bin1)"
    )


def test_not_a_root_file(tmp_path):
    (tmp_path / "in.root").write_text("not ROOT")
    path = _card(tmp_path, "shapes * * in.root $PROCESS")
    with pytest.raises(InvalidSpec, match=r"card.txt:4: .*in.root: not a ROOT file"):
        datacard.read(path)


def test_optional_shapes_fall_back_when_absent(tmp_path):
    shutil.copy(SHAPES_ROOT, tmp_path / "in.root")
    path = _card(
        tmp_path,
        "shapes * * in.root $PROCESS $PROCESS_$SYSTEMATIC",
        "alpha shape? 1.1 1\nnothere shape? 1.2 1.3\n",
    )
    card, t = datacard.read(path)
    assert ("bin1", "background", "alphaUp") in t
    assert ("bin1", "background", "alphaDown") in t
    assert ("bin1", "signal", "alphaUp") not in t  # no signal_alphaUp: an lnN
    assert not any(k[2].startswith("nothere") for k in t)
    assert [n.name for n in card.nuisances] == ["alpha", "nothere"]


def test_keywords_and_absolute_paths(tmp_path):
    path = _card(
        tmp_path,
        f"shapes * * {SHAPES_ROOT.parent}/simple-shapes-TH1_$WHAT.root $PROCESS",
    )
    _, t = datacard.read(path, keywords={"WHAT": "input"})
    assert sum(t[("bin1", "signal", "")].contents) == pytest.approx(10, rel=0.01)
    with pytest.raises(InvalidSpec, match="does not exist"):
        datacard.read(path)


def test_malformed_card_raises_hifit_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("bin a\nobservation 1\nbin a\nprocess s\nprocess 0\nrate nan\n")
    with pytest.raises(hifit.InvalidSpec) as err:
        datacard.read(path)
    assert str(err.value) == f"{path}:6: expected a rate (number), found 'nan'"
    with pytest.raises(InvalidSpec, match="cannot open the datacard"):
        datacard.read(tmp_path / "absent.txt")


# ---- cards written by hifit.stat read back ------------------------------------------

EDGES = [0.0, 1.0, 2.0, 3.0, 4.0]


def _stat_inputs(years):
    hist = pytest.importorskip("hist")
    rng = np.random.default_rng(7)
    names = ["nominal", "pileupUp", "pileupDown"]
    histograms: dict = {"signal": {}, "ttbar": {}, "DATA": {}}
    by_period: dict = {}
    for y in years:
        for sample, n in (("signal", 100), ("ttbar", 400)):
            h = hist.Hist(
                hist.axis.StrCategory(["SR"], name="cat"),
                hist.axis.StrCategory(names, name="variation"),
                hist.axis.Variable(EDGES, name="x"),
                storage=hist.storage.Weight(),
            )
            x = rng.uniform(0, 4, n)
            for v, k in zip(names, (1.0, 1.1, 0.9), strict=True):
                h.fill(cat="SR", variation=v, x=x, weight=np.full(n, k))
            histograms[sample][f"{sample}_{y}"] = h
        d = hist.Hist(
            hist.axis.StrCategory(["SR"], name="cat"),
            hist.axis.Variable(EDGES, name="x"),
            storage=hist.storage.Weight(),
        )
        d.fill(cat="SR", x=rng.uniform(0, 4, 500))
        histograms["DATA"][f"DATA_{y}"] = d
        by_period[y] = {
            "signal": {f"signal_{y}"},
            "ttbar": {f"ttbar_{y}"},
            "DATA": {f"DATA_{y}"},
        }
    cutflow = {
        "presel": {
            f"{s}_{y}": {"nominal": 100}
            for y in years
            for s in ("signal", "ttbar", "DATA")
        }
    }
    return histograms, {"by_datataking_period": by_period}, cutflow


@pytest.mark.parametrize(
    ("years", "options"),
    [
        (["2018"], {}),
        (["2022", "2023"], {"mcstat": False}),
        (["2018"], {"mcstat": {"threshold": 10, "include_signal": 1, "hist_mode": 2}}),
        (["2018"], {"with_data": False}),
    ],
    ids=["one-year", "two-years-no-mcstat", "mcstat-options", "no-data"],
)
def test_cards_written_by_hifit_stat_read_back(tmp_path, years, options):
    hs = pytest.importorskip("hifit.stat")
    options = dict(options)
    with_data = options.pop("with_data", True)
    histograms, metadata, cutflow = _stat_inputs(years)
    mc = hs.MCProcesses(
        [
            hs.MCProcess(
                name="signal", samples=["signal"], is_signal=True, years=years
            ),
            hs.MCProcess(
                name="ttbar",
                samples=["ttbar"],
                is_signal=False,
                years=years,
                has_rateParam=True,
            ),
        ]
    )
    systs = hs.Systematics(
        [
            hs.SystematicUncertainty(
                name="lumi",
                typ="lnN",
                processes=["signal", "ttbar"],
                years=years,
                value=1.02,
            ),
            hs.SystematicUncertainty(
                name="xsec",
                typ="lnN",
                processes=["ttbar"],
                years=years,
                value=(0.95, 1.05),
            ),
            hs.SystematicUncertainty(
                name="pileup",
                typ="shape",
                processes=["signal", "ttbar"],
                years=years,
                value=1.0,
            ),
        ]
    )
    data = (
        hs.DataProcesses(
            [hs.DataProcess(name="data_obs", samples=["DATA"], years=years)]
        )
        if with_data
        else None
    )
    card = hs.Datacard(
        histograms,
        metadata,
        cutflow,
        years,
        mc,
        systs,
        "SR",
        data_processes=data,
        verbose=False,
        **options,
    )
    card.dump(tmp_path)
    parsed, templates = datacard.read(tmp_path / "datacard.txt")
    assert parsed.bins == [card.bin]
    assert len(parsed.columns) == 2 * len(years)
    assert {n.name for n in parsed.nuisances} >= {"lumi", "xsec", "pileup"}
    for col in parsed.columns:
        nominal = templates[(col.bin, col.process, "")]
        assert sum(nominal.contents) == pytest.approx(col.rate, rel=0.01, abs=1e-6)
        assert (col.bin, col.process, "pileupUp") in templates
    assert parsed.is_signal(f"signal_{years[0]}")
    assert parsed.rate_params
    assert all(p.process.startswith("ttbar") for p in parsed.rate_params)
    if options.get("mcstat") is False:
        assert list(parsed.auto_mc_stats) == []
    else:
        assert len(parsed.auto_mc_stats) == 1
    if not with_data:  # no data at all: observation -1 and no data template
        assert parsed.observation == [-1.0]
        assert (card.bin, "data_obs", "") not in templates
    else:
        assert sum(templates[(card.bin, "data_obs", "")].contents) == pytest.approx(
            parsed.observation[0], rel=0.005
        )
