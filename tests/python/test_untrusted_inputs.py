"""Untrusted inputs from Python: malicious .coffea pickles and lying containers.

Each case must end in hifit's own error, never in code execution, a crash or a
SystemError. Cases that could crash run in a subprocess so a segfault fails the test.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import hifit
import hifit.stat as hs
from hifit.examples import DEMO_WORKSPACE

hist = pytest.importorskip("hist")
lz4_frame = pytest.importorskip("lz4.frame")


def write(tmp_path: Path, obj: object, name: str = "evil.coffea") -> Path:
    path = tmp_path / name
    with lz4_frame.open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=5)
    return path


class _System:
    """Pickles as os.system("touch <marker>")."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _HugeHist:
    """Pickles as hist.Hist(Regular(1e9 bins)): 16 GB if the constructor ran."""

    def __reduce__(self):
        return (hist.Hist, (hist.axis.Regular(10**9, 0, 1),))


# ---- load_coffea -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        (Path("/etc/passwd"), r"pathlib\.\w*Path"),
        (functools.partial(print, "x"), r"functools\.partial"),
        (np.array([1, "a"], dtype=object), "object dtype"),
        (np.dtype("O"), "object dtype"),
        (_HugeHist(), r"refusing to call Hist with arguments"),
    ],
    ids=["pathlib", "partial", "object-array", "object-dtype", "huge-hist-call"],
)
def test_malicious_pickles_refused(tmp_path, payload, refused):
    path = write(tmp_path, {"x": payload})
    with pytest.raises(hs.CoffeaLoadError, match=refused) as err:
        hs.load_coffea(path)
    assert str(path) in str(err.value)
    assert isinstance(err.value, hifit.HifitError)


def test_os_system_never_runs(tmp_path):
    marker = tmp_path / "ran"
    path = write(tmp_path, [_System(marker)])
    with pytest.raises(hs.CoffeaLoadError, match=r"refusing to unpickle posix\.system"):
        hs.load_coffea(path)
    assert not marker.exists()


def test_reexported_names_are_checked_by_own_module(tmp_path):
    # hist.numpy is numpy itself: reaching numpy.load through it must not work, nor
    # a class hist merely imports.
    for module, name in [("hist", "numpy"), ("boost_histogram", "annotations")]:
        data = b"\x80\x04\x8c" + bytes([len(module)]) + module.encode()
        data += b"\x8c" + bytes([len(name)]) + name.encode() + b"\x93."
        path = tmp_path / f"{name}.coffea"
        path.write_bytes(data)
        with pytest.raises(hs.CoffeaLoadError, match="refusing to unpickle"):
            hs.load_coffea(path)


def test_histogram_axes_must_match_storage(tmp_path):
    # A Regular axis widened from 3 to 250 bins while the storage keeps 10 cells:
    # viewing it would read past the end of the storage.
    good = pickle.dumps(hist.Hist.new.Reg(3, 0, 1).StrCat(["a"]).Weight(), protocol=5)
    pos = good.index(b"K\x03}")  # the axis' bin count, then its metadata dict
    path = tmp_path / "lying.coffea"
    path.write_bytes(good[:pos] + b"K\xfa" + good[pos + 2 :])
    with pytest.raises(hs.CoffeaLoadError, match="axes give 504 cells but its storage"):
        hs.load_coffea(path)
    path.write_bytes(good)
    assert hs.load_coffea(path).size == 10


def test_cell_limit(tmp_path, monkeypatch):
    h = hist.Hist.new.Reg(20, 0, 1).Weight()
    path = write(tmp_path, {"h": h, "a": np.arange(30.0)})
    assert hs.load_coffea(path)["h"].size == 22
    monkeypatch.setattr(hs._coffea, "MAX_CELLS", 21)
    with pytest.raises(hs.CoffeaLoadError, match=r"refusing an? \w+ of \d+ cells"):
        hs.load_coffea(path)


def test_every_failure_is_coffea_load_error(tmp_path):
    with pytest.raises(hs.CoffeaLoadError, match="missing.coffea"):
        hs.load_coffea(tmp_path / "missing.coffea")
    truncated = tmp_path / "truncated.coffea"
    truncated.write_bytes(pickle.dumps({"a": list(range(100))})[:-20])
    with pytest.raises(hs.CoffeaLoadError, match="not a readable"):
        hs.load_coffea(truncated)


# ---- hifit.Workspace(dict) ---------------------------------------------------------


def run_isolated(code: str) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter: a segfault shows up as a return code."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("claimed", ["10**6", "1", "0", "-5"])
def test_list_with_lying_len(claimed):
    # The lie sits on a sample's data; the result must equal the honest dict's.
    result = run_isolated(
        f"""
        import json, hifit
        from hifit.examples import DEMO_WORKSPACE
        class Liar(list):
            def __len__(self):
                return {claimed}
        spec = json.loads(DEMO_WORKSPACE.read_text())
        honest = hifit.Workspace(spec)
        data = spec["channels"][0]["samples"][0]["data"]
        spec["channels"][0]["samples"][0]["data"] = Liar(data)
        spec["channels"] = Liar(spec["channels"])
        try:
            lying = hifit.Workspace(spec)
        except hifit.HifitError as err:
            print("ERR", err)
        else:
            same = lying.spec() == honest.spec()
            m1, m2 = honest.model(), lying.model()
            print("SAME", same and m1.expected_data(m1.config.suggested_init()).tolist()
                  == m2.expected_data(m2.config.suggested_init()).tolist())
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(("SAME True", "ERR")), result.stdout


def test_values_that_shrink_the_list_being_read():
    # tolist() runs while the reader walks the list: it may empty the list.
    result = run_isolated(
        """
        import json, hifit
        from hifit.examples import DEMO_WORKSPACE
        spec = json.loads(DEMO_WORKSPACE.read_text())
        data = spec["channels"][0]["samples"][0]["data"]
        class Evil:
            def tolist(self):
                data.clear()
                return 1.0
        data[0] = Evil()
        try:
            hifit.Workspace(spec)
        except hifit.HifitError as err:
            print("ERR", err)
        else:
            print("OK")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(("ERR", "OK")), result.stdout


def demo_spec():
    return json.loads(DEMO_WORKSPACE.read_text())


def test_surrogate_keys_and_strings():
    spec = demo_spec()
    spec["channels"][0]["name\udcff"] = 1
    with pytest.raises(hifit.InvalidSpec, match="not valid Unicode"):
        hifit.Workspace(spec)
    spec = demo_spec()
    spec["channels"][0]["name"] = "SR\ud800"
    with pytest.raises(hifit.InvalidSpec, match="not valid Unicode"):
        hifit.Workspace(spec)


def test_huge_integers():
    spec = demo_spec()
    spec["channels"][0]["samples"][0]["data"][0] = 10**400
    with pytest.raises(hifit.InvalidSpec, match="too large"):
        hifit.Workspace(spec)
    spec = demo_spec()
    spec["channels"][0]["name"] = 10**5000  # no repr within Python's digit limit
    with pytest.raises(hifit.InvalidSpec, match="too many digits"):
        hifit.Workspace(spec)
