"""Bad inputs through the command line: exit code 2, exactly one line on stderr naming
the file or option, no traceback, and a previous output file left untouched."""

import shutil

import pytest
from test_cli_outcomes import DATA, SIMPLE, hifit, one_error_line

SHARED = DATA.parent
LBB = DATA / "atlas-1Lbb-ins1755298"
CARD = (
    SHARED / "combine" / "tutorials" / "counting" / "realistic-counting-experiment.txt"
)
CONFIG = SHARED / "cabinetry" / "tutorials" / "config_ntuples.yml"
SPEC = (
    '{"version": "1.0.0", "channels": [{"name": "c", "samples": [{"name": "s", '
    '"data": [NUMBER], "modifiers": []}]}], "observations": [{"name": "c", '
    '"data": [1]}], "measurements": [{"name": "m", "config": {"poi": "x", '
    '"parameters": []}}]}'
)


def files(tmp_path):
    out = {
        "utf16.json": SIMPLE.read_text().encode("utf-16"),
        "latin1.json": '{"channels": "caf\xe9"}'.encode("latin-1"),
        "huge_float.json": SPEC.replace("NUMBER", "1e999").encode(),
        "huge_int.json": SPEC.replace("NUMBER", "9" * 400).encode(),
    }
    for name, content in out.items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


CASES = [
    (["fit", "{tmp}/utf16.json"], "utf16.json: not UTF-8 text"),
    (["fit", "{tmp}/latin1.json"], "latin1.json:1: invalid JSON"),
    (["fit", "{tmp}/huge_float.json"], "huge_float.json: a number beyond the range"),
    (["fit", "{tmp}/huge_int.json"], "huge_int.json: a number beyond the range"),
    (["fit", SIMPLE, "--fix", "mu=nan"], "--fix: expected a finite number"),
    (["fit", SIMPLE, "--fix", "mu=1", "--fix", "mu=2"], "'mu' is given twice"),
    (["fit", SIMPLE, "--fix", "muu=1"], "no parameter named 'muu'; did you mean 'mu'?"),
    (["fit", SIMPLE, "--minos", "uncorr_bkguncrt"], "did you mean 'uncorr_bkguncrt["),
    (["scan", SIMPLE, "--par", "m"], "no parameter named 'm'; did you mean 'mu'?"),
    (
        [
            "fit",
            LBB / "BkgOnly.json",
            "--patchset",
            LBB / "patchset.json",
            "--patch",
            "C1N2_Wh_hbb_1000_1",
        ],
        "did you mean 'C1N2_Wh_hbb_1000_",
    ),
    (["cls", SIMPLE, "--toys", "10", "--seed", str(2**64)], "--seed"),
    (["cls", SIMPLE, "--toys", str(10**7)], "--toys"),
    (["fit", CONFIG], "is a cabinetry config, not a workspace: use `hifit run"),
]


@pytest.mark.parametrize(("args", "fragment"), CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_the_output(tmp_path, args, fragment):
    folder = files(tmp_path)
    out = tmp_path / "out.json"
    out.write_text("previous")
    args = [str(a).replace("{tmp}", str(folder)) for a in args]
    line = one_error_line(hifit(*args, "-o", out), 2)
    assert fragment in line
    assert out.read_text() == "previous"


def test_a_card_without_a_known_suffix_is_recognised_by_its_content(tmp_path):
    card = tmp_path / "card"
    shutil.copy(CARD, card)
    proc = hifit("fit", card)
    assert proc.returncode == 0, proc.stderr
    assert "status: converged" in proc.stdout
