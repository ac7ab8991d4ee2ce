"""`hifit pyhf <command>` against `pyhf <command>`: same invocation, same inputs.

pyhf's CLI (the installed reference, 0.7.6) runs in this process through click's test
runner; hifit runs as users run it, in a subprocess, so exit codes and stderr are real.
Documents must be byte-identical, digests identical, fit/CLs numbers equal within the
minimizers' tolerance.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

pyhf_cli = pytest.importorskip("pyhf.cli").cli
from click.testing import CliRunner  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
TWO_BIN = DATA / "pyhf-docs-json" / "2-bin_1-channel.json"
VALIDATION = DATA / "validation-workspaces"
TWO_CHANNEL = VALIDATION / "validation_2bin_2channel.json"
COUPLED = VALIDATION / "validation_2bin_2channel_coupledhistosys.json"
PATCHSET_DIR = DATA / "pyhf-tests" / "test_patchset"
BKG_ONLY = PATCHSET_DIR / "example_bkgonly.json"
PATCHSET = PATCHSET_DIR / "example_patchset.json"
LBB = DATA / "atlas-1Lbb-ins1755298"
SBOTTOM = DATA / "atlas-sbottom-ins1748602" / "RegionA" / "BkgOnly.json"
SMALL = [
    TWO_BIN,
    TWO_CHANNEL,
    COUPLED,
    *sorted(VALIDATION.glob("validation_1bin_*.json")),
]


def pyhf(*args: object) -> str:
    result = CliRunner().invoke(
        pyhf_cli, [str(a) for a in args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def hifit(*args: object, code: int = 0) -> subprocess.CompletedProcess[str]:
    """hifit's entry point (main: exit codes, one-line errors) in this process."""
    from hifit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["pyhf", *map(str, args)])
        except SystemExit as exc:
            returncode = exc.code
    proc = subprocess.CompletedProcess(args, returncode, out.getvalue(), err.getvalue())
    assert proc.returncode == code, proc.stderr
    return proc


def test_as_users_run_it():
    cmd = [sys.executable, "-m", "hifit.cli", "pyhf", "digest", TWO_BIN]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert proc.stdout == pyhf("digest", TWO_BIN)
    cmd = [sys.executable, "-m", "hifit.cli", "pyhf", "combine", TWO_BIN, TWO_BIN]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("hifit: error: ") and proc.stderr.count("\n") == 1


def same_output(*args: object) -> str:
    expected = pyhf(*args)
    got = hifit(*args).stdout
    assert got == expected
    return got


# ------------------------------------------------------------- document commands


@pytest.mark.parametrize("path", [*SMALL, SBOTTOM], ids=lambda p: p.stem)
def test_digest_and_sort_match_pyhf(path):
    same_output("digest", path)
    same_output("digest", "-a", "sha256", "-a", "md5", "-j", path)
    same_output("sort", path)


@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.stem)
def test_inspect_matches_pyhf(path, tmp_path):
    expected = pyhf("inspect", path, "--output-file", tmp_path / "pyhf.json")
    assert (
        hifit("inspect", path, "--output-file", tmp_path / "hifit.json").stdout
        == expected
    )
    assert (tmp_path / "hifit.json").read_text() == (tmp_path / "pyhf.json").read_text()


def test_prune_and_rename_match_pyhf(tmp_path):
    same_output("prune", TWO_CHANNEL, "-c", "signal")
    same_output("prune", COUPLED, "-m", "coupled_histosys", "-s", "signal")
    same_output("prune", COUPLED, "-t", "histosys")
    same_output(
        "rename",
        TWO_BIN,
        "-c",
        "singlechannel",
        "SR",
        "-m",
        "mu",
        "poi",
        "-s",
        "signal",
        "sig",
    )
    same_output("rename", SBOTTOM, "--measurement", "NormalMeasurement", "meas")
    # --output-file writes the printed text (without the final newline, as pyhf)
    pyhf("prune", SBOTTOM, "-t", "histosys", "--output-file", tmp_path / "pyhf.json")
    hifit("prune", SBOTTOM, "-t", "histosys", "--output-file", tmp_path / "hifit.json")
    assert (tmp_path / "hifit.json").read_bytes() == (
        tmp_path / "pyhf.json"
    ).read_bytes()


def test_combine_matches_pyhf(tmp_path):
    renamed = tmp_path / "renamed.json"
    pyhf(
        "rename",
        TWO_BIN,
        "-c",
        "singlechannel",
        "other",
        "--measurement",
        "Measurement",
        "m2",
        "--output-file",
        renamed,
    )
    same_output("combine", TWO_BIN, renamed)
    same_output("combine", TWO_BIN, TWO_BIN, "--join", "outer")
    same_output("combine", TWO_BIN, TWO_BIN, "--join", "left outer", "--merge-channels")
    same_output("combine", COUPLED, TWO_CHANNEL, "--join", "right outer")


def test_combine_refusals_are_one_line_exit_2():
    proc = hifit("combine", TWO_BIN, TWO_BIN, code=2)
    assert "in common with the same name: singlechannel" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (
        "not one of the channels"
        in hifit("prune", TWO_BIN, "-c", "nope", code=2).stderr
    )


# ------------------------------------------------------------- patchsets


def test_patchset_commands_match_pyhf(tmp_path):
    same_output("patchset", "inspect", PATCHSET)
    same_output("patchset", "verify", BKG_ONLY, PATCHSET)
    same_output(
        "patchset", "extract", PATCHSET, "--name", "patch_channel1_signal_syst1"
    )
    same_output(
        "patchset",
        "extract",
        PATCHSET,
        "--name",
        "patch_channel1_signal_syst1",
        "--with-metadata",
    )
    same_output(
        "patchset", "apply", BKG_ONLY, PATCHSET, "--name", "patch_channel1_signal_syst1"
    )


def test_patchset_of_a_real_analysis(tmp_path):
    same_output("patchset", "verify", LBB / "BkgOnly.json", LBB / "patchset.json")
    wrong = hifit("patchset", "verify", TWO_BIN, LBB / "patchset.json", code=2)
    assert "digest verification failed" in wrong.stderr
    hifit("patchset", "extract", PATCHSET, "--name", "nope", code=2)


# ------------------------------------------------------------- inference


def _close(got, expected, rtol=2e-3, atol=2e-4):
    if isinstance(expected, dict):
        assert set(got) == set(expected)
        for key in expected:
            _close(got[key], expected[key], rtol, atol)
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            _close(g, e, rtol, atol)
    elif expected is None or isinstance(expected, str):
        assert got == expected
    else:
        assert got == pytest.approx(expected, rel=rtol, abs=atol)


@pytest.mark.parametrize("path", [TWO_BIN, TWO_CHANNEL, COUPLED], ids=lambda p: p.stem)
def test_fit_and_cls_match_pyhf(path):
    expected = json.loads(pyhf("fit", path, "--value"))
    got = json.loads(
        hifit(
            "fit", path, "--value", "--backend", "numpy", "--optimizer", "minuit"
        ).stdout
    )
    _close(got, expected, rtol=5e-3, atol=5e-3)  # parameters: the minimizers' tolerance
    assert got["twice_nll"] == pytest.approx(expected["twice_nll"], rel=1e-7)
    for extra in ([], ["--test-poi", "0.5", "--test-stat", "q"]):
        expected = json.loads(pyhf("cls", path, *extra))
        got = json.loads(hifit("cls", path, *extra, "--optimizer", "scipy").stdout)
        _close(got, expected)


def test_toy_cls_near_the_asymptotic_value():
    expected = json.loads(pyhf("cls", TWO_BIN, "--test-poi", "1"))
    got = json.loads(
        hifit("cls", TWO_BIN, "--test-poi", "1", "--calctype", "toybased").stdout
    )
    # 2000 toys: CLs within a few binomial standard errors of the asymptotic value
    assert got["CLs_obs"] == pytest.approx(expected["CLs_obs"], abs=0.05)
    assert len(got["CLs_exp"]) == 5


# ------------------------------------------------------------- XML


XML = DATA / "histfactory-xml"
XML_CASES = sorted(
    p for p in XML.glob("*/config/example.xml") if (p.parents[1] / "data").is_dir()
)


@pytest.mark.parametrize("top", XML_CASES, ids=lambda p: p.parents[1].name)
def test_xml2json_matches_pyhf(top, tmp_path):
    basedir = top.parents[1]
    pyhf(
        "xml2json",
        top,
        "--basedir",
        basedir,
        "--hide-progress",
        "--output-file",
        tmp_path / "p.json",
    )
    hifit(
        "xml2json",
        top,
        "--basedir",
        basedir,
        "--hide-progress",
        "--output-file",
        tmp_path / "h.json",
    )
    assert (tmp_path / "h.json").read_text() == (tmp_path / "p.json").read_text()


def test_xml_refusals_are_exit_2(tmp_path):
    assert "not valid XML" in hifit("xml2json", TWO_BIN, code=2).stderr
    top = XML_CASES[0]
    # the histograms are not where the XML says (wrong base folder)
    assert hifit("xml2json", top, "--basedir", tmp_path, code=2).stderr.startswith(
        "hifit: error:"
    )


@pytest.mark.parametrize("top", XML_CASES[:3], ids=lambda p: p.parents[1].name)
def test_json2xml_round_trips_through_pyhf(top, tmp_path):
    basedir = top.parents[1]
    original = tmp_path / "original.json"
    pyhf(
        "xml2json",
        top,
        "--basedir",
        basedir,
        "--hide-progress",
        "--output-file",
        original,
    )
    out = tmp_path / "xml"
    out.mkdir()
    hifit("json2xml", original, "--output-dir", out)
    _validate_with_dtd(out)
    # pyhf reads hifit's XML back to the same workspace, and so does hifit
    pyhf(
        "xml2json",
        out / "FitConfig.xml",
        "--basedir",
        tmp_path,
        "--hide-progress",
        "--output-file",
        tmp_path / "p.json",
    )
    hifit(
        "xml2json",
        out / "FitConfig.xml",
        "--basedir",
        tmp_path,
        "--output-file",
        tmp_path / "h.json",
    )
    want = json.loads(original.read_text())
    assert json.loads((tmp_path / "h.json").read_text()) == json.loads(
        (tmp_path / "p.json").read_text()
    )
    _close(json.loads((tmp_path / "p.json").read_text()), want, rtol=1e-6, atol=1e-9)


def _validate_with_dtd(out: Path) -> int:
    """Every XML file hifit wrote into ``out`` names HistFactorySchema.dtd (written
    beside the top-level file, as pyhf does) and is valid against it; the number of
    files checked."""
    etree = pytest.importorskip("lxml.etree")
    dtd_file = out / "HistFactorySchema.dtd"
    dtd = etree.DTD(str(dtd_file))
    files = [out / "FitConfig.xml", *sorted((out / "config").glob("*.xml"))]
    parser = etree.XMLParser(dtd_validation=True, load_dtd=True, no_network=True)
    for xml in files:
        tree = etree.parse(str(xml), parser)  # validates against its DOCTYPE's DTD
        assert (xml.parent / tree.docinfo.system_url).resolve() == dtd_file.resolve()
        assert dtd.validate(tree), (xml, dtd.error_log.filter_from_errors())
    return len(files)


def test_dtd_refuses_what_hifit_does_not_write(tmp_path):
    """The DTD is not permissive: an unknown element or a missing attribute fails."""
    etree = pytest.importorskip("lxml.etree")
    hifit("json2xml", COUPLED, "--output-dir", tmp_path)
    dtd = etree.DTD(str(tmp_path / "HistFactorySchema.dtd"))
    channel = next((tmp_path / "config").glob("*.xml"))
    tree = etree.parse(str(channel))
    assert dtd.validate(tree)
    sample = tree.getroot().find("Sample")
    etree.SubElement(sample, "Unknown")
    assert not dtd.validate(tree)
    tree = etree.parse(str(channel))
    del tree.getroot().find("Sample").attrib["HistoName"]
    assert not dtd.validate(tree)


@pytest.mark.parametrize(
    "path", sorted(VALIDATION.glob("*.json")), ids=lambda p: p.stem
)
def test_json2xml_writes_a_dtd_its_xml_validates_against(path, tmp_path):
    """hifit's XML of each validation workspace is valid against hifit's DTD (written
    where pyhf writes its own), and pyhf's xml2json reads it to the workspace pyhf
    reads from pyhf's own json2xml output."""
    ours, theirs = tmp_path / "hifit", tmp_path / "pyhf"
    for folder in (ours, theirs):
        folder.mkdir()
    hifit("json2xml", path, "--output-dir", ours)
    pyhf("json2xml", path, "--output-dir", theirs)
    assert (theirs / "HistFactorySchema.dtd").is_file()  # pyhf's place for it
    assert _validate_with_dtd(ours) == 1 + len(json.loads(path.read_text())["channels"])
    read = {}
    for name, folder in (("hifit", ours), ("pyhf", theirs)):
        pyhf(
            "xml2json",
            folder / "FitConfig.xml",
            "--basedir",
            tmp_path,
            "--hide-progress",
            "--output-file",
            tmp_path / f"{name}.json",
        )
        read[name] = json.loads((tmp_path / f"{name}.json").read_text())
    _close(read["hifit"], read["pyhf"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("top", XML_CASES, ids=lambda p: p.parents[1].name)
def test_json2xml_of_every_xml_case_validates(top, tmp_path):
    """Every modifier kind (StatError: xmlimport_input) in hifit's XML is valid."""
    original = tmp_path / "original.json"
    pyhf(
        "xml2json",
        top,
        "--basedir",
        top.parents[1],
        "--hide-progress",
        "--output-file",
        original,
    )
    hifit("json2xml", original, "--output-dir", tmp_path / "xml")
    _validate_with_dtd(tmp_path / "xml")
