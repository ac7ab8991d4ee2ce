"""hifit.combine._root_tree: the standard-library writer of higgsCombine files,
read back with uproot and compared with the file uproot itself writes and with the
real Combine's higgsCombine files (shared/data/combine/references/outputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from hifit.combine._root_tree import write_tree

OUTPUTS = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "combine"
    / "references"
    / "outputs"
    / "htt_multiple_regions"
)
TYPES = (np.float64, np.float32, np.int32, np.int64)


@pytest.mark.parametrize("entries", [0, 1, 7, 5000])
def test_round_trip_every_type(tmp_path: Path, entries: int) -> None:
    rng = np.random.default_rng(entries)
    columns = {
        f"b_{np.dtype(t).name}": (rng.normal(size=entries) * 1e3).astype(t)
        for t in TYPES
    }
    columns["b_float64"][:1] = np.nan if entries else columns["b_float64"][:1]
    path = tmp_path / "t.root"
    write_tree(path, "limit", "limit", columns, folders=["toys"])
    with uproot.open(path) as f:
        assert f.classnames() == {"limit;1": "TTree", "toys;1": "TDirectory"}
        assert f["toys"].keys() == []
        tree = f["limit"]
        assert tree.num_entries == entries
        assert tree.keys() == list(columns)
        back = tree.arrays(library="np")
    for name, values in columns.items():
        assert back[name].dtype == values.dtype
        np.testing.assert_array_equal(back[name], values)


def test_same_layout_as_uproots_writer(tmp_path: Path) -> None:
    columns = {
        "limit": np.array([0.5, 1.5, 2.5]),
        "iToy": np.array([0, 0, 0], np.int32),
        "quantileExpected": np.array([-1, 0.5, 0.16], np.float32),
    }
    ours, theirs = tmp_path / "ours.root", tmp_path / "theirs.root"
    write_tree(ours, "limit", "limit", columns, folders=["toys"])
    with uproot.recreate(theirs, compression=None) as f:
        f.mktree("limit", {k: v.dtype for k, v in columns.items()}, title="limit")
        f["limit"].extend(columns)
        f.mkdir("toys")
    with uproot.open(ours) as a, uproot.open(theirs) as b:
        assert a.classnames() == b.classnames()
        ta, tb = a["limit"], b["limit"]
        members = (
            "fEntries",
            "fScanField",
            "fAutoFlush",
            "fAutoSave",
            "fEstimate",
            "fMaxEntries",
            "fDefaultEntryOffsetLen",
            "fWeight",
        )
        for m in members:
            assert ta.member(m) == tb.member(m), m
        assert ta.title == tb.title
        for name in columns:
            ba, bb = ta[name], tb[name]
            assert ba.title == bb.title
            assert ba.interpretation == bb.interpretation
            assert [type(x).__name__ for x in ba.member("fLeaves")] == [
                type(x).__name__ for x in bb.member("fLeaves")
            ]
            assert ba.member("fWriteBasket") == bb.member("fWriteBasket")
            assert ba.num_entries == bb.num_entries


@pytest.mark.parametrize(
    "name",
    [
        "higgsCombine.asymptotic.AsymptoticLimits.mH125.root",
        "higgsCombine.grid.MultiDimFit.mH125.root",
        "higgsCombine.sig_obs.Significance.mH125.root",
    ],
)
def test_rewrites_real_combine_trees(tmp_path: Path, name: str) -> None:
    """The real Combine's limit trees, rewritten: same branches, types, values."""
    path = OUTPUTS / name
    if not path.is_file():
        pytest.skip("shared Combine outputs missing")
    with uproot.open(path) as f:
        real = f["limit"].arrays(library="np")
    out = tmp_path / name
    write_tree(out, "limit", "limit", real, folders=["toys"])
    with uproot.open(out) as f:
        back = f["limit"].arrays(library="np")
    assert list(back) == list(real)
    for key in real:
        assert back[key].dtype == real[key].dtype
        np.testing.assert_array_equal(back[key], real[key])
