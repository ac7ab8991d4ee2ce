"""hifit.cabinetry.histo.Histogram's save / validate / normalize_to_yield against
cabinetry's on the same histograms."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hifit.cabinetry import histo

cabinetry_histo = pytest.importorskip("cabinetry.histo")

BINS = [0.0, 1.0, 2.5, 4.0, 6.0]
YIELDS = [3.0, 0.0, 7.5, 2.25]
STDEV = [1.5, np.nan, 2.0, np.nan]


def both():
    return (
        histo.Histogram.from_arrays(BINS, YIELDS, STDEV),
        cabinetry_histo.Histogram.from_arrays(BINS, YIELDS, STDEV),
    )


def test_save_writes_what_cabinetry_writes(tmp_path):
    ours, theirs = both()
    ours.save(tmp_path / "hifit" / "SR_Signal")
    theirs.save(tmp_path / "cabinetry" / "SR_Signal")
    a = np.load(tmp_path / "hifit" / "SR_Signal.npz")
    b = np.load(tmp_path / "cabinetry" / "SR_Signal.npz")
    assert sorted(a.files) == sorted(b.files) == ["bins", "stdev", "yields"]
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])
    # and cabinetry reads hifit's file back
    back = cabinetry_histo.Histogram.from_path(tmp_path / "hifit" / "SR_Signal")
    np.testing.assert_array_equal(back.yields, YIELDS)


def test_validate_logs_as_cabinetry(caplog):
    ours, theirs = both()
    messages = []
    for h in (ours, theirs):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            h.validate("SR_Signal")
        messages.append([(r.levelname, r.getMessage()) for r in caplog.records])
    assert messages[0] == messages[1] and len(messages[0]) == 3


def test_normalize_to_yield_as_cabinetry():
    ours, theirs = both()
    ref_bins, ref_yields = [0.0, 1.0, 2.0], [4.0, 6.5]
    ratio = ours.normalize_to_yield(
        histo.Histogram.from_arrays(ref_bins, ref_yields, [1.0, 1.0])
    )
    want = theirs.normalize_to_yield(
        cabinetry_histo.Histogram.from_arrays(ref_bins, ref_yields, [1.0, 1.0])
    )
    assert ratio == want
    np.testing.assert_array_equal(ours.yields, theirs.yields)
    np.testing.assert_array_equal(ours.stdev, theirs.stdev)
