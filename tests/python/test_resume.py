"""--resume on the commands whose fan-outs reach the executor through other layers:
`hifit run`, `hifit combine` (MultiDimFit grid, HybridNew, GoodnessOfFit toys),
`hifit cabinetry ranking/scan` and `hifit pyhf cls --calctype toybased`. Each is
interrupted after a few chunks (the executor's test hook, a simulated Ctrl-C): exit
130 with the finished items kept; --resume then computes exactly the missing items
(counted where chunks start) and writes what an uninterrupted run writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from small_workspace import WORKSPACE

import hifit.executor
from hifit.cli import main
from hifit.executor import INTERRUPT_AFTER_ENV
from hifit.executor_checkpoint import Checkpoint

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SHAPES = DATA / "combine" / "ci" / "template-analysis_shape_autoMCStats.txt"
COUNTING = (
    DATA
    / "combine"
    / "tutorials"
    / "statistical_routines_tutorial"
    / "datacard_obs12.txt"
)


def _cli(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


@pytest.fixture
def computed(monkeypatch) -> list[int]:
    """Items of every chunk that started running (threads call _run_chunk)."""
    started: list[int] = []
    run_chunk = hifit.executor._run_chunk

    def counting(func, shared, items):
        started.append(len(items))
        return run_chunk(func, shared, items)

    monkeypatch.setattr(hifit.executor, "_run_chunk", counting)
    monkeypatch.setenv("HIFIT_PROGRESS", "0")
    return started


def _resumed(
    whole: list[str],
    argv: list[str],
    checkpoint: Path | Callable[[], Path],
    computed: list[int],
    monkeypatch,
    capsys,
    *,
    after: int = 2,
) -> None:
    """Runs ``whole`` uninterrupted, then ``argv`` stopped after ``after`` chunks and
    resumed; checks the exit codes, the checkpoint and what the resumed run computed."""
    assert _cli(whole) == 0
    total = sum(computed)
    monkeypatch.setenv(INTERRUPT_AFTER_ENV, str(after))
    assert _cli(argv) == 130
    assert "--resume" in capsys.readouterr().err
    monkeypatch.delenv(INTERRUPT_AFTER_ENV)
    if callable(checkpoint):
        checkpoint = checkpoint()
    kept = checkpoint.read_text().count("\n") - 1  # the header
    assert 0 < kept < total
    computed.clear()
    assert _cli([*argv, "--resume"]) == 0, capsys.readouterr().err
    assert sum(computed) == total - kept
    assert not checkpoint.exists()


def _combine_tree(path: Path) -> dict[str, np.ndarray]:
    import uproot

    with uproot.open(path) as f:
        arrays = f["limit"].arrays(library="np")
    return {k: v for k, v in arrays.items() if k not in ("t_cpu", "t_real")}


@pytest.mark.parametrize(
    ("card", "method"),
    [
        (SHAPES, ["-M", "MultiDimFit", "--algo", "grid", "--points", "64"]),
        (SHAPES, ["-M", "GoodnessOfFit", "--algo", "saturated", "-t", "8"]),
        (
            COUNTING,
            ["-M", "HybridNew", "--LHCmode", "LHC-limits", "--singlePoint", "r=5"]
            + ["-T", "100", "--clsAcc", "0", "--freezeParameters"]
            + ["allConstrainedNuisances"],
        ),
    ],
    ids=["MultiDimFit-grid", "GoodnessOfFit-toys", "HybridNew"],
)
def test_combine_resumes(
    tmp_path: Path, monkeypatch, capsys, computed, card: Path, method: list[str]
) -> None:
    if not card.is_file():
        pytest.skip("Combine card missing")
    monkeypatch.chdir(tmp_path)
    base = ["combine", str(card), *method]

    def checkpoint() -> Path:  # named after the output, known once a run wrote it
        (whole,) = tmp_path.glob("higgsCombineWhole.*.root")
        return tmp_path / f"{whole.name.replace('Whole', 'Resumed')}.checkpoint.jsonl"

    _resumed(
        [*base, "-n", "Whole"],
        [*base, "-n", "Resumed"],
        checkpoint,
        computed,
        monkeypatch,
        capsys,
    )
    (whole,) = tmp_path.glob("higgsCombineWhole.*.root")
    resumed = tmp_path / whole.name.replace("Whole", "Resumed")
    a, b = _combine_tree(whole), _combine_tree(resumed)
    assert a.keys() == b.keys() and len(a["limit"]) >= 1
    for key in a:
        assert np.array_equal(a[key], b[key]), key


def test_combine_refuses_another_runs_checkpoint(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    if not SHAPES.is_file():
        pytest.skip("Combine card missing")
    argv = ["combine", str(SHAPES), "-M", "MultiDimFit", "--algo", "grid"]
    argv += ["--points", "5", "-n", "X", "--resume"]
    out = tmp_path / "higgsCombineX.MultiDimFit.mH120.root"
    Checkpoint(f"{out}.checkpoint.jsonl", run={"command": "something else"})
    monkeypatch.chdir(tmp_path)
    code = _cli(argv)
    err = capsys.readouterr().err
    assert code == 2 and "another run" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws.json"
    path.write_text(json.dumps(WORKSPACE))
    return path


def test_pyhf_cls_toybased_resumes(
    tmp_path: Path, workspace: Path, monkeypatch, capsys, computed
) -> None:
    import hifit.cli._pyhf_infer as pyhf_infer

    monkeypatch.setattr(pyhf_infer, "PYHF_NTOYS", 300)  # pyhf's 2000, made quick
    base = ["pyhf", "cls", str(workspace), "--calctype", "toybased", "-o"]
    out = tmp_path / "cls.json"
    _resumed(
        [*base, str(tmp_path / "whole.json")],
        [*base, str(out)],
        Path(f"{out}.checkpoint.jsonl"),
        computed,
        monkeypatch,
        capsys,
    )
    assert out.read_bytes() == (tmp_path / "whole.json").read_bytes()


@pytest.mark.parametrize(
    "command", [["ranking"], ["scan", "mu", "--n_steps", "21"]], ids=["ranking", "scan"]
)
def test_cabinetry_resumes(
    tmp_path: Path, workspace: Path, monkeypatch, capsys, computed, command: list[str]
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")  # no creation date in the PDF
    name = "ranking.pdf" if command[0] == "ranking" else "scan_mu.pdf"
    base = ["cabinetry", command[0], str(workspace), *command[1:], "--figfolder"]
    _resumed(
        [*base, str(tmp_path / "whole")],
        [*base, str(tmp_path / "resumed")],
        tmp_path / "resumed" / f"{name}.checkpoint.jsonl",
        computed,
        monkeypatch,
        capsys,
        after=1,
    )
    whole = (tmp_path / "whole" / name).read_bytes()
    assert (tmp_path / "resumed" / name).read_bytes() == whole


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from hifit.examples import demo as make_demo

    base = tmp_path_factory.mktemp("demo")
    make_demo.generate(base / "demo")
    return base


def test_run_resumes(demo: Path, monkeypatch, capsys, computed) -> None:
    import hifit.cli._workflow as workflow
    import hifit.cli.report as report

    # figures and report are drawn from the documents compared here: skipped for time
    monkeypatch.setattr(workflow, "_make_figures", lambda *a, **k: None)
    monkeypatch.setattr(report, "write", lambda *a, **k: None)
    monkeypatch.chdir(demo)
    config = "demo/config.yml"
    _resumed(
        ["run", config, "-o", "whole"],
        ["run", config, "-o", "resumed"],
        demo / "resumed.checkpoint.jsonl",
        computed,
        monkeypatch,
        capsys,
    )
    names = sorted(p.name for p in (demo / "whole").glob("*.json"))
    assert "ranking.json" in names and "scan.json" in names
    for name in names:
        if name == "run.json":  # the time of the run
            continue
        assert _without_wall_times(demo / "resumed" / name) == _without_wall_times(
            demo / "whole" / name
        ), name


def _without_wall_times(path: Path) -> list[bytes]:
    """The file's lines but those of a ``wall_time`` (fits' timings)."""
    return [x for x in path.read_bytes().splitlines() if b'"wall_time":' not in x]


@pytest.mark.parametrize(
    ("argv", "checkpoint"),
    [
        (["run", "demo/config.yml", "-o", "out"], "out.checkpoint.jsonl"),
        (
            ["cabinetry", "ranking", "WS", "--figfolder", "figs"],
            "figs/ranking.pdf.checkpoint.jsonl",
        ),
        (
            ["cabinetry", "scan", "WS", "mu", "--figfolder", "figs"],
            "figs/scan_mu.pdf.checkpoint.jsonl",
        ),
        (
            ["pyhf", "cls", "WS", "--calctype", "toybased", "-o", "cls.json"],
            "cls.json.checkpoint.jsonl",
        ),
    ],
    ids=["run", "cabinetry-ranking", "cabinetry-scan", "pyhf-cls"],
)
def test_another_runs_checkpoint_is_refused(
    demo: Path, monkeypatch, capsys, computed, argv: list[str], checkpoint: str
) -> None:
    """--resume with a checkpoint of other inputs or options: exit 2, one line, no
    fan-out ran and the file is left as it was."""
    monkeypatch.chdir(demo)
    Path("ws.json").write_text(json.dumps(WORKSPACE))
    argv = [a if a != "WS" else "ws.json" for a in argv]
    Checkpoint(checkpoint, run={"command": "something else"})
    before = Path(checkpoint).read_bytes()
    assert _cli([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "another run" in err and len(err.strip().splitlines()) == 1
    assert sum(computed) == 0 and Path(checkpoint).read_bytes() == before
