"""The command line as users run it: a subprocess, exit codes, JSON output."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
TWO_BIN = DATA / "pyhf-docs-json" / "2-bin_1-channel.json"
LBB = DATA / "atlas-1Lbb-ins1755298"
SBOTTOM_A = DATA / "atlas-sbottom-ins1748602" / "RegionA"


def hifit(*args, check=True):
    cmd = [sys.executable, "-m", "hifit.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def test_fit_writes_parameters_and_correlation_json(tmp_path):
    out = tmp_path / "fit.json"
    proc = hifit("fit", TWO_BIN, "-o", out)
    assert "uncorr_bkguncrt[1]" in proc.stdout
    result = json.loads(out.read_text())
    assert {"parameters", "twice_nll", "valid", "status", "correlation"} <= set(result)
    assert [p["name"] for p in result["parameters"]] == [
        "mu",
        "uncorr_bkguncrt[0]",
        "uncorr_bkguncrt[1]",
    ]
    assert {"name", "value", "uncertainty"} <= set(result["parameters"][0])
    assert result["valid"] is True
    assert len(result["correlation"]) == 3


def test_fit_with_patch_converges_on_1lbb():
    proc = hifit(
        "fit",
        LBB / "BkgOnly.json",
        "--patchset",
        LBB / "patchset.json",
        "--patch",
        "C1N2_Wh_hbb_1000_0",
    )
    assert "status: converged" in proc.stdout
    assert "mu_SIG" in proc.stdout


def test_fit_fix_and_no_poi(tmp_path):
    out = tmp_path / "fit.json"
    hifit("fit", TWO_BIN, "--fix", "mu=1.5", "-o", out)
    pars = {p["name"]: p for p in json.loads(out.read_text())["parameters"]}
    assert pars["mu"]["value"] == 1.5
    assert pars["mu"]["uncertainty"] == 0.0
    hifit("fit", TWO_BIN, "--no-poi", "-o", out)
    assert json.loads(out.read_text())["valid"]


def pyhf_inspect(path):
    pyhf_cli = Path(sys.executable).parent / "pyhf"
    return subprocess.run(
        [pyhf_cli, "inspect", path], capture_output=True, text=True, check=True
    ).stdout


def test_inspect_matches_pyhf_inspect_on_patched_sbottom(tmp_path):
    jsonpatch = pytest.importorskip("jsonpatch")
    patch = json.loads((SBOTTOM_A / "patch.sbottom_1300_205_60.json").read_text())
    bkg = json.loads((SBOTTOM_A / "BkgOnly.json").read_text())
    patched = tmp_path / "patched.json"
    patched.write_text(json.dumps(jsonpatch.apply_patch(bkg, patch)))
    assert hifit("inspect", patched).stdout == pyhf_inspect(patched)


def test_inspect_with_patchset_matches_pyhf_patchset_apply(tmp_path):
    pytest.importorskip("pyhf")
    patched = tmp_path / "patched.json"
    pyhf_cli = Path(sys.executable).parent / "pyhf"
    subprocess.run(
        [
            pyhf_cli,
            "patchset",
            "apply",
            LBB / "BkgOnly.json",
            LBB / "patchset.json",
            "--name",
            "C1N2_Wh_hbb_700_400",
            "--output-file",
            patched,
        ],
        check=True,
    )
    ours = hifit(
        "inspect",
        LBB / "BkgOnly.json",
        "--patchset",
        LBB / "patchset.json",
        "--patch",
        "C1N2_Wh_hbb_700_400",
    ).stdout
    assert ours == pyhf_inspect(patched)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["fit", "/no/such/file.json"], "/no/such/file.json: cannot open file"),
        (["fit", TWO_BIN, "--fix", "mu=x"], "expected NAME or NAME=VALUE"),
        (["fit", TWO_BIN, "--fix", "nope=1"], "no parameter named 'nope'"),
        (
            [
                "fit",
                LBB / "BkgOnly.json",
                "--patchset",
                LBB / "patchset.json",
                "--patch",
                "nope",
            ],
            'no patch named "nope"',
        ),
        (["fit", LBB / "patchset.json"], "missing required key"),
        (
            ["fit", TWO_BIN, "--patch", "x"],
            "--patch needs --patchset",
        ),
        (["fit", TWO_BIN, "--bogus"], "No such option '--bogus'"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(args, fragment):
    proc = hifit(*args, check=False)
    assert proc.returncode == 2
    assert fragment in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


SIMPLE = (
    DATA
    / "validation-workspaces"
    / "simplemodels_uncorrelated_background_doc_example.json"
)
EXAMPLE = DATA / "pyhf-tests" / "test_patchset"


def test_cls_writes_the_documented_keys(tmp_path):
    out = tmp_path / "cls.json"
    hifit("cls", SIMPLE, "--mu", "1.0", "--test-stat", "qtilde", "-o", out)
    result = json.loads(out.read_text())
    assert {"CLs_obs", "CLs_exp", "CLsb", "CLb"} <= set(result)
    assert len(result["CLs_exp"]) == 5
    assert result["CLs_obs"] == pytest.approx(result["CLsb"] / result["CLb"])


def test_cls_signal_grid_writes_json_and_csv(tmp_path):
    out, table = tmp_path / "grid.json", tmp_path / "grid.csv"
    hifit(
        "cls",
        EXAMPLE / "example_bkgonly.json",
        "--patchset",
        EXAMPLE / "example_patchset.json",
        "--jobs",
        "2",
        "-o",
        out,
        "--csv",
        table,
    )
    results = json.loads(out.read_text())["results"]
    assert [r["patch"] for r in results] == ["patch_channel1_signal_syst1"]
    assert {"patch", "values", "CLs_obs", "CLs_exp", "valid"} <= set(results[0])
    rows = table.read_text().splitlines()
    assert rows[0].startswith("patch,") and len(rows) == 2


def test_limit_significance_scan_and_ranking_write_json(tmp_path):
    lim = tmp_path / "limit.json"
    hifit("limit", SIMPLE, "-o", lim)
    limits = json.loads(lim.read_text())
    assert len(limits["expected"]) == 5 and limits["observed"] > 0
    sig = tmp_path / "sig.json"
    hifit("significance", EXAMPLE / "example_bkgonly.json", "-o", sig)
    assert set(json.loads(sig.read_text())) >= {
        "observed_significance",
        "expected_p_value",
    }
    scan = tmp_path / "scan.json"
    hifit("scan", SIMPLE, "--range", "0:2:5", "-o", scan)
    assert json.loads(scan.read_text())["values"] == [0.0, 0.5, 1.0, 1.5, 2.0]
    rank = tmp_path / "ranking.json"
    hifit("ranking", EXAMPLE / "example_bkgonly.json", "--jobs", "2", "-o", rank)
    names = [p["name"] for p in json.loads(rank.read_text())["parameters"]]
    assert "SigXsecOverSM" not in names and "syst1" in names


def test_fit_minos_and_goodness_of_fit(tmp_path):
    out = tmp_path / "fit.json"
    proc = hifit("fit", SIMPLE, "--minos", "mu", "--goodness-of-fit", "-o", out)
    assert "MINOS mu" in proc.stdout and "goodness of fit" in proc.stdout
    result = json.loads(out.read_text())
    assert result["minos"]["mu"][1] > 0
    assert 0 < result["goodness_of_fit"]["p_value"] <= 1
