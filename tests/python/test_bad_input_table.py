"""The table of bad inputs of issue 13: every known cause through the command line.

Each row creates its input in its own folder and runs ``hifit`` there as a
subprocess (so a crash is seen as a signal, and a traceback as text); the rows run
concurrently, a few at a time. For every row:

* the exit code is the documented one (2 for bad input; 1 for ``hifit run`` whose
  fit fails; 0 for the rows that must work, such as a card without a known suffix);
* stderr is exactly one line (``hifit run``'s ``[k/9] step ...`` progress lines
  aside), holding the expected fragment and, when a file is the cause, its name;
* no ``Traceback``, no negative return code (a signal);
* the output files that existed before (``out.json`` given with ``-o``, and
  ``outdir/fit.json`` of ``hifit run``) are byte-identical afterwards.

The last test prints ``bad-input table: N inputs, N clean errors, 0 tracebacks,
0 crashes`` (a clean error: a row that meets every check above).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PYHF = SHARED / "pyhf"
SIMPLE = (
    PYHF
    / "validation-workspaces"
    / "simplemodels_uncorrelated_background_doc_example.json"
)
COUPLED = PYHF / "validation-workspaces" / "validation_2bin_2channel_couplednorm.json"
PATCHSET_DIR = PYHF / "pyhf-tests" / "test_patchset"
SHAPES_CARD = SHARED / "combine" / "tutorials" / "shapes" / "simple-shapes-TH1.txt"
SHAPES_ROOT = SHAPES_CARD.with_name("simple-shapes-TH1_input.root")
COUNTING_CARD = (
    SHARED / "combine" / "tutorials" / "counting" / "realistic-counting-experiment.txt"
)
TUTORIALS = SHARED / "cabinetry" / "tutorials"

OUT = "out.json"  # exists with PREVIOUS before every row
OUT_DIR = "outdir"  # holds fit.json with PREVIOUS before every row
PREVIOUS = b"previous output\n"
PROGRESS = re.compile(r"^\[\d+/\d+\] ")  # hifit run's step lines
DAMAGED = "the file is damaged or truncated"


@dataclass(frozen=True)
class Row:
    id: str
    make: Callable[[Path], list[str]]  # writes the inputs into the folder, gives argv
    fragment: str  # expected in the error line
    names: str | None = None  # the file the line must name
    code: int = 2


# ---- inputs ------------------------------------------------------------------------


def _write(folder: Path, name: str, content: bytes | str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return name


def _copy(folder: Path, source: Path, name: str | None = None) -> str:
    name = name or source.name
    shutil.copyfile(source, folder / name)
    return name


def _one_bin(fixed: bool = False, nuisance: bool = False, poi: bool = True) -> dict:
    signal = {"name": "mu", "type": "normfactor", "data": None}
    norm = {"name": "bn", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
    params = [{"name": "mu", "fixed": fixed, "inits": [1.0], "bounds": [[0, 10]]}]
    if nuisance:
        params.append({"name": "bn", "fixed": True})
    samples = [{"name": "bkg", "data": [10.0], "modifiers": [norm] if nuisance else []}]
    if poi:
        samples.append({"name": "signal", "data": [5.0], "modifiers": [signal]})
    return {
        "channels": [{"name": "sr", "samples": samples}],
        "observations": [{"name": "sr", "data": [12.0]}],
        "measurements": [
            {"name": "m", "config": {"poi": "mu", "parameters": params if poi else []}}
        ],
        "version": "1.0.0",
    }


def _number_spec(number: str) -> str:
    return json.dumps(_one_bin()).replace("5.0", number, 1)


def _patchset(value: str = '"x"') -> str:
    return (
        '{"metadata": {"name": "ps", "references": {"hepdata": "ins1234567"}, '
        f'"description": "d", "digests": {{"sha256": "{"0" * 64}"}}, '
        '"labels": ["a"]}, "version": "1.0.0", '
        '"patches": [{"metadata": {"name": "p", "values": [1]}, "patch": [{"op": '
        f'"add", "path": "/channels/0/samples/0/x", "value": {value}}}]}}]}}'
    )


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _damage_compressed(data: bytes) -> bytes:
    """Every zlib block of a ROOT file with its deflate stream scrambled."""
    out = bytearray(data)
    for match in re.finditer(b"ZL\x08", data):
        start = match.start() + 9 + 2  # ROOT's block header, zlib's header
        for i in range(start, min(start + 32, len(out))):
            out[i] ^= 0x55
    return bytes(out)


def _shapes_card(folder: Path, root: bytes | None, file_name: str = "shapes.root"):
    """The shapes tutorial card reading ``file_name`` (written from ``root``)."""
    text = SHAPES_CARD.read_text().replace("simple-shapes-TH1_input.root", file_name)
    _write(folder, "card.txt", text)
    if root is not None:
        _write(folder, file_name, root)
    return "card.txt"


def _config(folder: Path, kind: str, damage: Callable[[bytes], bytes] | None) -> str:
    """A tutorial config with its inputs copied into ``inputs/``, the first one read
    (the data) passed through ``damage``."""
    name = {"histograms": "histograms.root", "ntuples": "data.root"}[kind]
    inputs = {
        "histograms": ["histograms.root"],
        "ntuples": ["data.root", "prediction.root"],
    }
    (folder / "inputs").mkdir()
    for entry in inputs[kind]:
        _copy(folder / "inputs", TUTORIALS / "inputs" / entry)
    if damage is not None:
        target = folder / "inputs" / name
        target.write_bytes(damage(target.read_bytes()))
    return _copy(folder, TUTORIALS / f"config_{kind}.yml", "config.yml")


def _input_replaced_by(folder: Path, kind: str, what: str) -> str:
    """A tutorial config whose first input is a directory or a device."""
    config = _config(folder, kind, None)
    target = (
        folder / "inputs" / {"histograms": "histograms.root"}.get(kind, "data.root")
    )
    target.unlink()
    if what == "directory":
        target.mkdir()
    else:
        target.symlink_to(what)
    return config


def _damaged_templates(folder: Path) -> str:
    """Templates collected and post-processed, then every one cut to 100 bytes."""
    import hifit.cabinetry as cab

    config = _config(folder, "histograms", None)
    cfg = cab.configuration.load(folder / config)
    # the config's paths are relative to the working directory of `hifit`
    for key in ("InputPath", "HistogramFolder"):
        cfg["General"][key] = str(folder / cfg["General"][key])
    cab.templates.collect(cfg)
    cab.templates.postprocess(cfg)
    for path in (folder / "histograms").glob("*.npz"):
        path.write_bytes(path.read_bytes()[:100])
    return config


def _failing_fit_config(folder: Path) -> str:
    """A histogram config whose fit cannot start: the nominal yields are valid (signal
    -2 plus background 3 in the first bin), but at the config's initial signal
    normalisation (2) the first bin predicts a negative rate against 3 observed
    events."""
    import boost_histogram as bh
    import uproot

    def histogram(values: list[float]) -> bh.Histogram:
        h = bh.Histogram(bh.axis.Variable([0.0, 1.0, 2.0]), storage=bh.storage.Weight())
        h.view().value = values
        h.view().variance = [abs(v) for v in values]
        return h

    with uproot.recreate(folder / "inputs.root") as f:
        f["SR/Data/Nominal"] = histogram([3.0, 10.0])
        f["SR/Signal/Nominal"] = histogram([-2.0, 1.0])
        f["SR/Background/Nominal"] = histogram([3.0, 10.0])
    return _write(
        folder,
        "config.yml",
        """General:
  Measurement: "m"
  POI: "Signal_norm"
  HistogramFolder: "histograms/"
  InputPath: "inputs.root:{RegionPath}/{SamplePath}/{VariationPath}"
  VariationPath: "Nominal"
Regions:
  - Name: "SR"
    RegionPath: "SR"
Samples:
  - Name: "Data"
    SamplePath: "Data"
    Data: True
  - Name: "Signal"
    SamplePath: "Signal"
  - Name: "Background"
    SamplePath: "Background"
NormFactors:
  - Name: "Signal_norm"
    Samples: "Signal"
    Nominal: 2
    Bounds: [0, 10]
""",
    )


# one bin, one background, no nuisance: with --no-poi nothing is left free
COUNTING_ONLY_BKG = (
    "imax 1\njmax 0\nkmax 0\n---\nbin a\nobservation 12\n---\n"
    "bin a\nprocess bkg\nprocess 1\nrate 10\n"
)


def _deep_block_yaml(levels: int) -> str:
    lines = [f"{'  ' * i}k{i}:" for i in range(levels)]
    return "\n".join(lines) + f"\n{'  ' * levels}v: 1\n"


def _latin1_card() -> bytes:
    """The counting card with a Latin-1 byte in a rate: the error quotes it."""
    lines = COUNTING_CARD.read_text().splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if line.startswith("rate"))
    words = lines[i].split()
    lines[i] = " ".join([words[0], "1\xe9", *words[2:]]) + "\n"
    return "".join(lines).encode("latin-1")


def _counting_card(edit: Callable[[str], str]) -> Callable[[], str]:
    """The realistic counting card, edited."""
    return lambda: edit(COUNTING_CARD.read_text())


def _truncated(text: str) -> str:
    """Cut inside the last systematic row, after its first value, no newline."""
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    return text[: text.rindex(last)] + " ".join(last.split()[:3])


def _edited_one_bin(edit: Callable[[dict], object]) -> Callable[[], str]:
    def content() -> str:
        spec = _one_bin(nuisance=True)
        edit(spec)
        return json.dumps(spec)

    return content


def _lumi_sigma_zero(spec: dict) -> None:
    spec["channels"][0]["samples"][0]["modifiers"].append(
        {"name": "lumi", "type": "lumi", "data": None}
    )
    spec["measurements"][0]["config"]["parameters"].append(
        {"name": "lumi", "auxdata": [1.0], "sigmas": [0.0], "bounds": [[0.5, 1.5]]}
    )


def _huge_staterror() -> str:
    """100 000 bins with a staterror each: a dense Hessian of 80 GB, fitted in blocks
    (memory linear in the bins) instead."""
    n = 100_000
    stat = {"name": "st", "type": "staterror", "data": [1.0] * n}
    mu = {"name": "mu", "type": "normfactor", "data": None}
    return json.dumps({
        "channels": [{"name": "c", "samples": [
            {"name": "b", "data": [10.0] * n, "modifiers": [stat, mu]}]}],
        "observations": [{"name": "c", "data": [10.0] * n}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    })  # fmt: skip


# ---- the table ---------------------------------------------------------------------


def _cmd(*argv: object) -> Callable[[Path], list[str]]:
    """A row whose inputs are shared files: the command line as given."""
    return lambda folder: [str(a) for a in argv]


def _file(command: str, name: str, content: Callable[[], bytes | str], *extra: str):
    """A row reading one file written into its folder: ``command name *extra``."""
    return lambda folder: [command, _write(folder, name, content()), *extra]


def _fit_file(name: str, content: Callable[[], bytes | str], *extra: str):
    return _file("fit", name, content, *extra, "-o", OUT)


def _with_patchset(content: Callable[[], bytes | str]) -> Callable[[Path], list[str]]:
    return lambda folder: [
        "fit",
        str(SIMPLE),
        "--patchset",
        _write(folder, "ps.json", content()),
        "--patch",
        "p",
        "-o",
        OUT,
    ]


def _then(prepare: Callable[[Path], object], argv: list[str]):
    """A row that prepares its folder (a directory, a symlink) and runs ``argv``."""
    return lambda folder: [prepare(folder), *argv][1:]


def _tutorial_config_text() -> str:
    return (TUTORIALS / "config_histograms.yml").read_text()


ROOT_BYTES = SHAPES_ROOT.read_bytes
ROWS = [
    # non-UTF-8 and UTF-16 text
    Row(
        "workspace-utf16",
        _fit_file("ws.json", lambda: SIMPLE.read_text().encode("utf-16")),
        "not UTF-8 text",
        "ws.json",
    ),
    Row(
        "workspace-latin1",
        _fit_file("ws.json", lambda: '{"channels": "caf\xe9"}'.encode("latin-1")),
        "ws.json:1: invalid JSON",
        "ws.json",
    ),
    Row(
        "patchset-utf16",
        _with_patchset(lambda: _patchset().encode("utf-16")),
        "not UTF-8 text",
        "ps.json",
    ),
    Row(
        "patchset-latin1",
        _with_patchset(lambda: _patchset('"caf\xe9"').encode("latin-1")),
        "invalid JSON",
        "ps.json",
    ),
    Row(
        "card-utf16",
        _fit_file("card.txt", lambda: COUNTING_CARD.read_text().encode("utf-16")),
        "not UTF-8 text",
        "card.txt",
    ),
    Row(
        "card-latin1",
        _fit_file("card.txt", _latin1_card),
        "card.txt:18: not UTF-8 text (byte 0xe9)",
        "card.txt",
    ),
    Row(
        "config-utf16",
        _file(
            "workspace",
            "config.yml",
            lambda: _tutorial_config_text().encode("utf-16"),
            OUT,
        ),
        "not UTF-8 text",
        "config.yml",
    ),
    Row(
        "config-latin1",
        _file(
            "templates",
            "config.yml",
            lambda: (
                _tutorial_config_text()
                .replace("minimal_example", "caf\xe9")
                .encode("latin-1")
            ),
        ),
        "config.yml:2: not UTF-8 text",
        "config.yml",
    ),
    # numbers beyond a double
    Row(
        "json-1e999",
        _fit_file("ws.json", lambda: _number_spec("1e999")),
        "a number beyond the range",
        "ws.json",
    ),
    Row(
        "json-400-digits",
        _fit_file("ws.json", lambda: _number_spec("9" * 400)),
        "a number beyond the range",
        "ws.json",
    ),
    Row(
        "patchset-1e999",
        _with_patchset(lambda: _patchset("1e999")),
        "a number beyond the range",
        "ps.json",
    ),
    # nesting
    Row(
        "yaml-deep-flow",
        _file("templates", "config.yml", lambda: "General: " + _deep(100_000)),
        "nested deeper than",
        "config.yml",
    ),
    Row(
        "yaml-deep-block",
        _file("workspace", "config.yml", lambda: _deep_block_yaml(2_000), OUT),
        "nested deeper than",
        "config.yml",
    ),
    Row(
        "run-yaml-deep",
        _file("run", "config.yml", lambda: "a: " + _deep(10_000), "-o", OUT_DIR),
        "nested deeper than",
        "config.yml",
    ),
    Row(
        "patchset-deep-value",
        _with_patchset(lambda: _patchset(_deep(2_000_000))),
        "nested deeper than 1000 levels",
        "ps.json",
    ),
    Row(
        "workspace-deep",
        _fit_file("ws.json", lambda: '{"channels": ' + _deep(2_000_000) + "}"),
        "nested deeper than 1000 levels",
        "ws.json",
    ),
    # ROOT files behind a card
    Row(
        "card-root-truncated",
        lambda d: ["fit", _shapes_card(d, ROOT_BYTES()[:4000]), "-o", OUT],
        DAMAGED,
        "shapes.root",
    ),
    Row(
        "card-root-zlib",
        lambda d: ["fit", _shapes_card(d, _damage_compressed(ROOT_BYTES())), "-o", OUT],
        "histogram 'data_obs'",
        "shapes.root",
    ),
    Row(
        "card-root-not-root",
        lambda d: ["fit", _shapes_card(d, b"hello\n" * 20), "-o", OUT],
        "not a ROOT file",
        "shapes.root",
    ),
    Row(
        "card-root-empty",
        lambda d: ["fit", _shapes_card(d, b""), "-o", OUT],
        "the file is empty",
        "shapes.root",
    ),
    Row(
        "card-root-directory",
        _then(
            lambda d: [(d / "shapes.root").mkdir(), _shapes_card(d, None)],
            ["fit", "card.txt", "-o", OUT],
        ),
        "is a directory, expected a ROOT file",
        "shapes.root",
    ),
    Row(
        "card-root-dev-zero",
        lambda d: ["fit", _shapes_card(d, None, "/dev/zero"), "-o", OUT],
        "not a regular file",
        "/dev/zero",
    ),
    Row(
        "convert-root-zlib",
        lambda d: [
            "convert",
            _shapes_card(d, _damage_compressed(ROOT_BYTES())),
            "-o",
            OUT,
        ],
        "histogram 'data_obs'",
        "shapes.root",
    ),
    Row(
        "scan-root-truncated",
        lambda d: ["scan", _shapes_card(d, ROOT_BYTES()[:4000]), "-o", OUT],
        DAMAGED,
        "shapes.root",
    ),
    # ROOT files behind a cabinetry config
    Row(
        "config-histograms-zlib",
        lambda d: ["templates", _config(d, "histograms", _damage_compressed)],
        "histogram 'SR/Data/Nominal'",
        "histograms.root",
    ),
    Row(
        "config-ntuples-zlib",
        lambda d: ["templates", _config(d, "ntuples", _damage_compressed)],
        "tree 'pseudodata'",
        "data.root",
    ),
    Row(
        "config-ntuples-truncated",
        lambda d: ["templates", _config(d, "ntuples", lambda b: b[:2000])],
        DAMAGED,
        "data.root",
    ),
    Row(
        "config-histograms-directory",
        lambda d: ["templates", _input_replaced_by(d, "histograms", "directory")],
        "is a directory",
        "histograms.root",
    ),
    Row(
        "config-ntuples-dev-zero",
        lambda d: ["templates", _input_replaced_by(d, "ntuples", "/dev/zero")],
        "not a regular file",
        "data.root",
    ),
    Row(
        "run-root-zlib",
        lambda d: [
            "run",
            _config(d, "histograms", _damage_compressed),
            "-o",
            OUT_DIR,
        ],
        "histogram 'SR/Data/Nominal'",
        "histograms.root",
    ),
    Row(
        "workspace-templates-truncated",
        lambda d: ["workspace", _damaged_templates(d), OUT],
        DAMAGED,
        "histograms/",
    ),
    # directories and devices as the main input
    Row(
        "fit-dev-zero",
        _cmd("fit", "/dev/zero", "-o", OUT),
        "not a regular file",
        "/dev/zero",
    ),
    Row(
        "fit-directory",
        _then(lambda d: (d / "ws").mkdir(), ["fit", "ws", "-o", OUT]),
        "is a directory",
        "ws",
    ),
    Row(
        "fit-card-symlink-dev-zero",
        _then(
            lambda d: (d / "card.txt").symlink_to("/dev/zero"),
            ["fit", "card.txt", "-o", OUT],
        ),
        "not a regular file",
        "card.txt",
    ),
    Row(
        "patchset-dev-zero",
        _cmd("fit", SIMPLE, "--patchset", "/dev/zero", "--patch", "p", "-o", OUT),
        "not a regular file",
        "/dev/zero",
    ),
    Row(
        "inspect-dev-zero",
        _cmd("inspect", "/dev/zero", "-o", OUT),
        "not a regular file",
        "/dev/zero",
    ),
    Row(
        "templates-dev-zero",
        _cmd("templates", "/dev/zero"),
        "not a regular file",
        "/dev/zero",
    ),
    Row(
        "convert-dev-zero",
        _then(
            lambda d: (d / "in.txt").symlink_to("/dev/zero"),
            ["convert", "in.txt", "-o", OUT],
        ),
        "not a regular file",
        "in.txt",
    ),
    # no free parameter
    Row(
        "fit-no-parameters",
        _fit_file("ws.json", lambda: json.dumps(_one_bin(poi=False))),
        "the model has no parameters",
        "ws.json",
    ),
    Row(
        "scan-fixed-poi",
        _file("scan", "ws.json", lambda: json.dumps(_one_bin(fixed=True)), "-o", OUT),
        "the POI 'mu' is fixed in the model",
    ),
    Row(
        "limit-fixed-poi",
        _file(
            "limit",
            "ws.json",
            lambda: json.dumps(_one_bin(fixed=True, nuisance=True)),
            "-o",
            OUT,
        ),
        "the POI mu is fixed in the model",
    ),
    Row(
        "ranking-no-free-nuisance",
        _file(
            "ranking", "ws.json", lambda: json.dumps(_one_bin(nuisance=True)), "-o", OUT
        ),
        "no nuisance parameter to rank",
    ),
    Row(
        "fit-everything-fixed-is-an-evaluation",
        _file(
            "fit", "ws.json", lambda: json.dumps(_one_bin(fixed=True)), "-o", "new.json"
        ),
        "note: every parameter is fixed",
        code=0,
    ),
    Row(
        "card-without-nuisances-no-poi-is-an-evaluation",
        _file("fit", "card.txt", lambda: COUNTING_ONLY_BKG, "--no-poi", "-o", "n.json"),
        "note: every parameter is fixed",
        code=0,
    ),
    # hifit run whose fit fails
    Row(
        "run-fit-fails",
        lambda d: ["run", _failing_fit_config(d), "-o", OUT_DIR],
        "the fit to data did not converge",
        code=1,
    ),
    # unbounded point counts, seeds
    Row(
        "cls-toys-unbounded",
        _cmd("cls", SIMPLE, "--toys", 10**7, "-o", OUT),
        "--toys",
    ),
    Row(
        "limit-scan-unbounded",
        _cmd("limit", SIMPLE, "--scan", "0:2:10000000", "-o", OUT),
        "at most 100000",
    ),
    Row(
        "scan-range-unbounded",
        _cmd("scan", SIMPLE, "--range", "0:2:10000000", "-o", OUT),
        "at most 100000",
    ),
    Row(
        "scan-2d-grid-unbounded",
        _cmd(
            "scan",
            COUPLED,
            "--par",
            "mu",
            "--par",
            "coupled_normsys",
            "--range",
            "0:2:1000",
            "--range=-1:1:1000",
            "-o",
            OUT,
        ),
        "more than 100000 points",
    ),
    Row(
        "cls-seed-2-64",
        _cmd("cls", SIMPLE, "--toys", 10, "--seed", 2**64, "-o", OUT),
        "--seed",
    ),
    Row(
        "cls-seed-negative",
        _cmd("cls", SIMPLE, "--toys", 10, "--seed", -1, "-o", OUT),
        "--seed",
    ),
    # names
    Row(
        "scan-duplicate-par",
        _cmd("scan", SIMPLE, "--par", "mu", "--par", "mu", "-o", OUT),
        "'mu' is given twice",
    ),
    Row(
        "fit-duplicate-fix",
        _cmd("fit", SIMPLE, "--fix", "mu=1", "--fix", "mu=2", "-o", OUT),
        "'mu' is given twice",
    ),
    Row(
        "fit-yaml-config",
        _fit_file("config.yml", _tutorial_config_text),
        "use `hifit run",
        "config.yml",
    ),
    Row(
        "card-without-suffix-works",
        _file("fit", "card", COUNTING_CARD.read_text, "-o", "new.json"),
        "",
        code=0,
    ),
    Row(
        "wrong-patch-name",
        _cmd(
            "fit",
            PATCHSET_DIR / "example_bkgonly.json",
            "--patchset",
            PATCHSET_DIR / "example_patchset.json",
            "--patch",
            "patch_channel1_signal_syst",
            "-o",
            OUT,
        ),
        "did you mean 'patch_channel1_signal_syst1'",
    ),
    Row(
        "wrong-fix-name",
        _cmd("fit", SIMPLE, "--fix", "muu=1", "-o", OUT),
        "no parameter named 'muu'; did you mean 'mu'?",
    ),
    Row(
        "wrong-minos-name",
        _cmd("fit", SIMPLE, "--minos", "uncorr_bkguncrt", "-o", OUT),
        "did you mean 'uncorr_bkguncrt[",
    ),
    Row(
        "wrong-scan-par",
        _cmd("scan", SIMPLE, "--par", "m", "-o", OUT),
        "did you mean 'mu'?",
    ),
    Row(
        "fix-nan",
        _cmd("fit", SIMPLE, "--fix", "mu=nan", "-o", OUT),
        "expected a finite number",
    ),
    # --fix/--freeze on every inference command (issue 15 item 3)
    Row(
        "ranking-wrong-freeze-name",
        _cmd("ranking", SIMPLE, "--freeze", "muu", "-o", OUT),
        "no parameter named 'muu'; did you mean 'mu'?",
    ),
    Row(
        "cls-fixes-the-poi",
        _cmd("cls", SIMPLE, "--fix", "mu=1", "-o", OUT),
        "'mu' is fixed by --fix",
    ),
    Row(
        "limit-fix-outside-bounds",
        _cmd("limit", SIMPLE, "--fix", "uncorr_bkguncrt[0]=-1", "-o", OUT),
        "outside the bounds",
    ),
    # output files (issue 13 item 3)
    Row(
        "output-is-the-input",
        lambda d: ["fit", _copy(d, SIMPLE, OUT), "-o", OUT],
        "is also an input",
        OUT,
    ),
    Row(
        "bad-csv-leaves-grid-json",
        _then(
            lambda d: _write(d, "notes.txt", "a file, not a folder"),
            [
                "cls",
                str(PATCHSET_DIR / "example_bkgonly.json"),
                "--patchset",
                str(PATCHSET_DIR / "example_patchset.json"),
                "-o",
                OUT,
                "--csv",
                "notes.txt/grid.csv",
            ],
        ),
        "is not a directory",
        "notes.txt/grid.csv",
    ),
    # content a datacard would drop, values the likelihood cannot take
    Row(
        "card-row-name-only",
        _fit_file("card.txt", _counting_card(lambda t: t + "lumi_alone\n")),
        "expected a directive type",
        "card.txt:",
    ),
    Row(
        "card-row-too-many-values",
        _fit_file("card.txt", _counting_card(lambda t: t + "x lnN 1 1 1 1 1.2\n")),
        "expected 4 values",
        "card.txt:",
    ),
    Row(
        "card-truncated",
        _fit_file("card.txt", _counting_card(_truncated)),
        "is it truncated?",
        "card.txt:",
    ),
    Row(
        "card-param-sigma-zero",
        _fit_file("card.txt", _counting_card(lambda t: t + "x param 0 0\n")),
        "expected a positive sigma",
        "card.txt:",
    ),
    Row(
        "card-negative-observation",
        _fit_file(
            "card.txt",
            _counting_card(lambda t: t.replace("observation 0", "observation -3")),
        ),
        "expected an observed count >= 0",
        "card.txt:",
    ),
    Row(
        "patchset-version",
        _with_patchset(lambda: _patchset().replace('"1.0.0"', '"2.0.0"')),
        'expected "1.0.0"',
        "ps.json",
    ),
    Row(
        "patchset-empty-name",
        _with_patchset(lambda: _patchset().replace('"name": "p"', '"name": ""')),
        "expected a non-empty name",
        "ps.json",
    ),
    Row(
        "patchset-empty-label",
        _with_patchset(lambda: _patchset().replace('["a"]', '[""]')),
        "expected a non-empty label",
        "ps.json",
    ),
    Row(
        "normsys-hi-zero",
        _fit_file(
            "ws.json",
            _edited_one_bin(
                lambda s: s["channels"][0]["samples"][0]["modifiers"][0]["data"].update(
                    hi=0
                )
            ),
        ),
        "expected a finite factor > 0",
        "ws.json",
    ),
    Row(
        "negative-observation",
        _fit_file(
            "ws.json",
            _edited_one_bin(lambda s: s["observations"][0].update(data=[-3.0])),
        ),
        "expected a finite count >= 0",
        "ws.json",
    ),
    Row(
        "lumi-sigma-zero",
        _fit_file("ws.json", _edited_one_bin(_lumi_sigma_zero)),
        "expected a number > 0",
        "ws.json",
    ),
    Row(
        "staterror-100k-bins-fits-in-blocks",
        _file("fit", "ws.json", _huge_staterror, "-o", "new.json"),
        "",
        code=0,
    ),
]


# ---- running -----------------------------------------------------------------------


@dataclass
class Outcome:
    row: Row
    returncode: int
    stderr: str
    outputs_kept: bool


def _run_row(row: Row, folder: Path) -> Outcome:
    folder.mkdir()
    (folder / OUT).write_bytes(PREVIOUS)
    (folder / OUT_DIR).mkdir()
    (folder / OUT_DIR / "fit.json").write_bytes(PREVIOUS)
    argv = row.make(folder)
    before = (folder / OUT).read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "hifit.cli", *argv],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        timeout=120,
    )
    kept = (folder / OUT).read_bytes() == before and (
        folder / OUT_DIR / "fit.json"
    ).read_bytes() == PREVIOUS
    return Outcome(row, proc.returncode, proc.stderr, kept)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("bad_inputs")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {row.id: pool.submit(_run_row, row, base / row.id) for row in ROWS}
        return {name: future.result() for name, future in futures.items()}


def _problems(outcome: Outcome) -> list[str]:
    row = outcome.row
    problems = []
    if outcome.returncode < 0:
        problems.append(f"crashed with signal {-outcome.returncode}")
    if "Traceback" in outcome.stderr:
        problems.append("traceback")
    if outcome.returncode != row.code:
        problems.append(f"exit code {outcome.returncode}, expected {row.code}")
    lines = [line for line in outcome.stderr.splitlines() if not PROGRESS.match(line)]
    if row.code != 0 or row.fragment:
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr")
        elif row.fragment not in lines[0]:
            problems.append(f"no {row.fragment!r} in the line")
        elif row.names and row.names not in lines[0]:
            problems.append(f"the line does not name {row.names}")
    if not outcome.outputs_kept:
        problems.append("a previous output file changed")
    return problems


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_row(outcomes, row):
    outcome = outcomes[row.id]
    assert not _problems(outcome), (_problems(outcome), outcome.stderr)


def test_core_errors_quoting_non_utf8_bytes_decode(tmp_path):
    """The C++ parser's message quotes the user's bytes; Python receives them as
    \\xNN, not as a UnicodeDecodeError (the CLI refuses such a card earlier)."""
    from hifit import InvalidSpec
    from hifit.datacard.cards import _dc

    path = tmp_path / "card.txt"
    path.write_bytes(_latin1_card())
    with pytest.raises(InvalidSpec, match=r"card.txt:18: .*found '1\\xe9'"):
        _dc.read(str(path))


DEEP_API = """
import hifit
deep = 1
for _ in range(10**5):
    deep = [deep]
one = {"name": "c", "samples": [{"name": "s", "data": [1.0], "modifiers": []}]}
ws = {"channels": [one], "observations": [{"name": "c", "data": [1]}],
      "measurements": [{"name": "m", "config": {"poi": "x", "parameters": []}}],
      "version": "1.0.0"}
patch = [{"op": "add", "path": "/x", "value": deep}]
calls = [
    lambda: hifit.Workspace({**ws, "channels": deep}),
    lambda: hifit.Workspace({**ws, "observations": [{"name": "c", "data": deep}]}),
    lambda: hifit.PatchSet({"metadata": {}, "patches": deep, "version": "1.0.0"}),
    lambda: hifit.Workspace(ws).apply_patch(patch),
]
for call in calls:
    try:
        call()
    except hifit.HifitError as err:
        print(type(err).__name__, str(err).splitlines()[0][:80])
    else:
        print("accepted")
"""


def test_deeply_nested_python_documents_raise_hifit_errors():
    """10^5 nested lists given to the API: hifit's error, never a crash (subprocess)
    nor a RecursionError."""
    proc = subprocess.run(
        [sys.executable, "-c", DEEP_API], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("Invalid") for line in lines), lines


def test_summary(outcomes, capsys):
    """Runs last (file order): the counts of the closing note of issue 13."""
    n = len(outcomes)
    clean = sum(not _problems(o) for o in outcomes.values())
    tracebacks = sum("Traceback" in o.stderr for o in outcomes.values())
    crashes = sum(o.returncode < 0 for o in outcomes.values())
    with capsys.disabled():
        print(
            f"\nbad-input table: {n} inputs, {clean} clean errors, "
            f"{tracebacks} tracebacks, {crashes} crashes"
        )
    assert (clean, tracebacks, crashes) == (n, 0, 0)
