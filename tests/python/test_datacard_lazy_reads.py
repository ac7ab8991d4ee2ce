"""A Combine card reads only the histograms it names: a shapes file holding many
more objects than the card needs is not read wholesale (each needed object is
decoded once, the directory's key list is read once), and the templates equal
uproot's reading of the same objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from hifit.datacard import _root_th1, read

UNUSED = 400  # histograms in the file that the card does not name


def _write_inputs(tmp_path: Path) -> tuple[Path, set[str]]:
    import hist

    def h(scale: float) -> hist.Hist:
        out = hist.Hist.new.Reg(3, 0, 3, name="x").Weight()
        out.fill([0.5, 1.5, 2.5], weight=[10 * scale, 20 * scale, 5 * scale])
        return out

    needed = {"data_obs", "sig", "bkg", "bkg_alphaUp", "bkg_alphaDown"}
    with uproot.recreate(tmp_path / "shapes.root") as f:
        for i in range(UNUSED):  # written first: a reader scanning the file pays
            f[f"other_{i}"] = h(1.0 + i / UNUSED)
        for name, scale in zip(sorted(needed), (1.0, 1.1, 0.9, 1.2, 0.3), strict=True):
            f[name] = h(scale)
    card = tmp_path / "card.txt"
    card.write_text(
        "imax 1\njmax 1\nkmax 1\n"
        "shapes data_obs * shapes.root data_obs\n"
        "shapes * * shapes.root $PROCESS $PROCESS_$SYSTEMATIC\n"
        "bin ch\nobservation -1\n"
        "bin ch ch\nprocess sig bkg\nprocess 0 1\nrate -1 -1\n"
        "alpha shape - 1\n"
    )
    return card, needed


def test_card_decodes_only_the_histograms_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card, needed = _write_inputs(tmp_path)
    decoded: list[str] = []
    listings: list[int] = []
    object_of = _root_th1.RootFile._object
    keys_of = _root_th1.RootFile._directory_keys

    def counting_object(self, key):  # type: ignore[no-untyped-def]
        decoded.append(key.name)
        return object_of(self, key)

    def counting_keys(self, record):  # type: ignore[no-untyped-def]
        before = len(self._dirs) if hasattr(self, "_dirs") else 0
        out = keys_of(self, record)
        if len(self._dirs) > before:
            listings.append(record)
        return out

    monkeypatch.setattr(_root_th1.RootFile, "_object", counting_object)
    monkeypatch.setattr(_root_th1.RootFile, "_directory_keys", counting_keys)
    _, templates = read(card)

    assert sorted(decoded) == sorted(needed)  # each once, none of the others
    assert len(listings) == 1  # one directory, its key list read once
    with uproot.open(tmp_path / "shapes.root") as ref:
        assert len(ref.keys(cycle=False)) == UNUSED + len(needed)
        for (_, process, variation), got in templates.items():
            name = "data_obs" if process == "data_obs" else process
            name += f"_{variation}" if variation else ""
            np.testing.assert_array_equal(got.contents, ref[name].values())
            np.testing.assert_array_equal(got.sumw2, ref[name].variances())
