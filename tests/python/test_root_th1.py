"""hifit.datacard._root_th1 (the standard-library TH1 reader of datacard shapes)
against uproot on every histogram of every ROOT file under shared/data/combine,
and the fallback to uproot for what it does not decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from hifit.datacard import _root_th1
from hifit.datacard._root_th1 import RootFile, Unsupported

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FILES = sorted(
    p for p in (DATA / "combine").rglob("*.root") if "references" not in p.parts
)


@pytest.mark.skipif(not FILES, reason="shared Combine data missing")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_histogram_equals_uproots(path: Path) -> None:
    checked = 0
    with uproot.open(path) as theirs, RootFile(path) as ours:
        for name, kind in theirs.classnames(cycle=False).items():
            key = ours.find(name)
            assert key is not None, name
            assert key.classname == kind
            if not kind.startswith("TH1"):
                continue
            h, ref = ours.th1(key), theirs[name]
            np.testing.assert_array_equal(h.contents, ref.values(flow=False))
            np.testing.assert_array_equal(h.sumw2, ref.variances(flow=False))
            np.testing.assert_array_equal(h.edges, ref.axis().edges(flow=False))
            checked += 1
    assert checked > 0
    assert ours.find("no/such/object") is None


def test_writer_files_read_back(tmp_path: Path) -> None:
    """Histograms uproot writes (zlib, lz4, lzma; TH1D with and without Sumw2,
    variable bins, in a subdirectory): equal, or Unsupported (then uproot reads)."""
    import hist

    h = hist.Hist.new.Var([0, 1, 3, 7], name="x").Weight()
    h.fill([0.5, 2, 2, 6], weight=[1.0, 2.0, 0.5, 3.0])
    for compression in (uproot.ZLIB(1), uproot.LZ4(1), uproot.LZMA(1), None):
        path = tmp_path / f"h_{type(compression).__name__}.root"
        with uproot.recreate(path, compression=compression) as f:
            f["dir/h"] = h
        with uproot.open(path) as theirs, RootFile(path) as ours:
            ref = theirs["dir/h"]
            got = ours.th1(ours.find("dir/h"))
            np.testing.assert_array_equal(got.contents, ref.values())
            np.testing.assert_array_equal(got.sumw2, ref.variances())
            np.testing.assert_array_equal(got.edges, ref.axis().edges())


def test_unknown_compression_is_unsupported() -> None:
    with pytest.raises(Unsupported):
        _root_th1._decompress(b"QQ\x00\x01\x00\x00\x01\x00\x00x", 1)
