"""`hifit combine-cards` as users run it: a subprocess, exit codes, the card written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hifit import _core, datacard

COMBINE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
SHAPES = COMBINE / "tutorials" / "shapes" / "simple-shapes-TH1.txt"
COUNTING = COMBINE / "tutorials" / "CAT23001" / "datacard-1-counting-experiment.txt"
INTERP = COMBINE / "ci" / "template-analysis_shape_autoMCStats.txt"
REGIONS = COMBINE / "ci" / "htt_multiple_regions.txt"


def hifit(*args, cwd=None):
    # relative PYTHONPATH / HIFIT_CORE_DIR entries must survive the change of cwd
    env = dict(os.environ)
    for key in ("PYTHONPATH", "HIFIT_CORE_DIR"):
        if env.get(key):
            parts = env[key].split(os.pathsep)
            env[key] = os.pathsep.join(os.path.abspath(p) for p in parts)
    cmd = [sys.executable, "-m", "hifit.cli", *map(str, args)]
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


def test_help_explains_labels():
    proc = hifit("combine-cards", "--help")
    assert proc.returncode == 0
    assert "LABEL=CARD" in proc.stdout
    assert "combineCards.py" in proc.stdout
    assert "--output" in proc.stdout


def test_combined_card_on_stdout(tmp_path):
    proc = hifit("combine-cards", f"sr={SHAPES}", f"cnt={COUNTING}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    card = _core.datacard.parse(proc.stdout, "stdout")
    assert card.bins == ["sr", "cnt"]
    assert card.observation == [85.0, 0.0]
    assert [s.file for s in card.shapes][1] == "FAKE"
    assert proc.stdout.startswith("# Combination of sr=")


def test_output_file_paths_are_relative_to_it(tmp_path):
    out = tmp_path / "sub" / "combined.txt"
    proc = hifit("combine-cards", f"a={INTERP}", f"b={REGIONS}", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    combined, templates = datacard.read(out, mass=125)
    assert combined.bins[0] == "a"
    assert combined.bins[1:] == [f"b_htt_tt_{i}_8TeV" for i in range(3)]
    # the templates are those of the separate cards
    _, regions = datacard.read(REGIONS, mass=125)
    for (channel, process, variation), hist in regions.items():
        mine = templates[("b_" + channel, process, variation)]
        np.testing.assert_array_equal(mine.contents, hist.contents)
    _, interp = datacard.read(INTERP, mass=125)
    assert sum(len(k) > 0 for k in interp) == sum(k[0] == "a" for k in templates)


def test_bare_paths_and_dot_label(tmp_path):
    abcd = COMBINE / "tutorials" / "CAT23001" / "datacard-4-abcd.txt"
    proc = hifit("combine-cards", SHAPES, f".={abcd}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    card = _core.datacard.parse(proc.stdout)
    assert card.bins == ["ch1", "B", "C", "D", "A"]
    alpha = card.rate_params[0]
    assert (alpha.bin, alpha.formula, alpha.args) == (
        "A",
        "(@0*@1/@2)",
        ["beta", "gamma", "delta"],
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a=missing.txt"], "missing.txt: cannot open the datacard"),
        ([f"1a={SHAPES}"], "expected a label that is an identifier"),
        ([f"a={SHAPES}", f"a={COUNTING}"], "expected distinct labels, found 'a'"),
        (["a="], "expected LABEL=CARD, found 'a='"),
    ],
)
def test_errors_are_one_line_with_exit_2(tmp_path, args, message):
    proc = hifit("combine-cards", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.startswith("hifit: error: ")
    assert proc.stderr.count("\n") == 1


def test_role_conflict_is_an_error(tmp_path):
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("bin x\nobservation 1\nbin x x\nprocess s b\nprocess 0 1\nrate 1 1\n")
    b.write_text("bin x\nobservation 1\nbin x x\nprocess s b\nprocess 1 0\nrate 1 1\n")
    proc = hifit("combine-cards", f"a={a}", f"b={b}", "-o", tmp_path / "c.txt")
    assert proc.returncode == 2
    assert "expected process 's' to be signal in every card" in proc.stderr
    assert not (tmp_path / "c.txt").exists()
