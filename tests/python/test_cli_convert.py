"""`hifit convert` as users run it: a subprocess, its output lines and exit codes."""

import json
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SHAPES_CARD = SHARED / "combine" / "tutorials" / "shapes" / "simple-shapes-TH1.txt"
MULTI_SIGNAL = (
    SHARED / "combine" / "tutorials" / "CAT23001" / "datacard-5-multi-signal.txt"
)
HISTOSYS_WS = (
    SHARED / "pyhf" / "validation-workspaces" / "validation_2bin_histosys.json"
)


def hifit(*args):
    cmd = [sys.executable, "-m", "hifit.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_card_to_workspace_lists_what_is_not_exact(tmp_path):
    out = tmp_path / "ws.json"
    proc = hifit("convert", SHAPES_CARD, "-o", out)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [x for x in lines if x.startswith("not exact: ")] == lines[:-1]
    assert any(x.startswith("not exact: shape alpha:") for x in lines)
    assert lines[-1] == (
        f"wrote {out} (1 channel, 2 samples); {len(lines) - 1} items not kept exactly"
    )
    spec = json.loads(out.read_text())
    assert spec["measurements"][0]["config"]["poi"] == "r"


def test_workspace_to_card_with_shapes_file(tmp_path):
    card = tmp_path / "card.txt"
    shapes = tmp_path / "templates" / "t.root"
    proc = hifit("convert", HISTOSYS_WS, "-o", card, "--shapes-file", shapes)
    assert proc.returncode == 0, proc.stderr
    assert shapes.is_file()
    assert "templates/t.root" in card.read_text()
    # histosys -> shape in hist_mode 2 is exact; only the POI name changes
    assert proc.stdout.splitlines()[-1].startswith(f"wrote {card} and {shapes}; 1 item")
    assert "not exact: POI mu becomes Combine's signal strength r" in proc.stdout


def test_poi_map_option(tmp_path):
    out = tmp_path / "ws.json"
    proc = hifit(
        "convert",
        MULTI_SIGNAL,
        "-o",
        out,
        "--mass",
        "125",
        "--poi-map",
        "ggH*=r_ggH",
        "--poi-map",
        "qqH*=r_qqH",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["measurements"][0]["config"]["poi"] == "r_ggH"


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    cases = [
        (("convert", SHAPES_CARD, "-o", tmp_path / "x.txt"), "both a card"),
        (("convert", SHAPES_CARD, "-o", tmp_path / "x.yaml"), "extension"),
        (("convert", tmp_path / "no.txt", "-o", tmp_path / "x.json"), "does not exist"),
        (
            ("convert", SHAPES_CARD, "-o", tmp_path / "x.json", "--poi-map", "sig"),
            "PROCESS=POI",
        ),
        (
            ("convert", HISTOSYS_WS, "-o", tmp_path / "x.txt", "--poi-map", "a=b"),
            "card -> workspace only",
        ),
        (
            (
                "convert",
                SHARED / "combine/tutorials/CAT23001/datacard-4-abcd.txt",
                "-o",
                tmp_path / "x.json",
            ),
            "rateParam 'alpha' is the formula",
        ),
    ]
    for args, message in cases:
        proc = hifit(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hifit: error: "), proc.stderr
        assert message in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written on failure
