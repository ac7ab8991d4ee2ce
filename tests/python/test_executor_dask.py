"""hifit.executor on a Dask LocalCluster of 2 worker processes: a signal grid (1Lbb
patches), toys and a ranking give exactly (==) the numbers of the threaded run; a
worker killed mid-run loses nothing; an interrupted run resumes from its checkpoint
and computes only the missing items."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from small_workspace import WORKSPACE

from hifit import _core, infer
from hifit.executor import INTERRUPT_AFTER_ENV, Checkpoint, LocalExecutor, get_executor
from hifit.executor_checkpoint import CheckpointError
from hifit.infer.grid import GridPoint, _grid_chunk, _GridInputs
from hifit.infer.mle import fit_args
from hifit.infer.toys import _toy_chunk, _ToyInputs
from hifit.pyhf_workspace import PatchSet, Workspace, model_from_spec

distributed = pytest.importorskip("distributed")

LBB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pyhf"
LBB = LBB / "atlas-1Lbb-ins1755298"
SPEC = {"channels": WORKSPACE["channels"]}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def small():
    model = model_from_spec(SPEC)
    return model, [*WORKSPACE["observations"][0]["data"], *model.config.auxdata]


def _subset_patchset(n: int) -> tuple[Workspace, PatchSet]:
    spec = json.loads((LBB / "patchset.json").read_text())
    spec["patches"] = spec["patches"][:n]
    return Workspace.load(LBB / "BkgOnly.json"), PatchSet(spec)


def _same(a: object, b: object) -> None:
    """Every field equal, arrays element by element (NaN == NaN)."""
    for key, value in vars(a).items():
        other = getattr(b, key)
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, other, equal_nan=True), key
        else:
            assert value == other, key


@pytest.mark.skipif(not LBB.is_dir(), reason="1Lbb workspace missing")
def test_grid_on_dask_equals_threads(client) -> None:
    ws, ps = _subset_patchset(2)
    threads = infer.grid(ws, ps, jobs=2)
    with get_executor(client=client) as ex:
        dask = infer.grid(ws, ps, executor=ex)
    assert dask == threads
    # the reference: the point's hypotest computed directly (its fits start from
    # the model's initial values, the grid's from the background-only fit: equal to
    # the minimizer's tolerance, as in test_inference_pyhf's grid test)
    for point in threads[:1]:
        patched = ps.apply(ws, point.patch)
        model = patched.model()
        r = infer.hypotest(1.0, patched.data(model), model)
        assert point.CLs_obs == pytest.approx(r.CLs_obs, rel=1e-4, abs=1e-7)
        np.testing.assert_allclose(point.CLs_exp, r.CLs_exp, rtol=1e-4, atol=1e-9)


def test_toys_on_dask_equal_threads(client, small) -> None:
    model, data = small
    threads = infer.toys.hypotest(1.0, data, model, ntoys=200, seed=3, jobs=2)
    with get_executor(client=client) as ex:
        dask = infer.toys.hypotest(1.0, data, model, ntoys=200, seed=3, executor=ex)
    _same(dask, threads)
    # and the C++ loop over all toys on its own threads
    core = _core.hypotest_toys(
        model._model,
        np.asarray(data),
        1.0,
        "qtilde",
        200,
        3,
        2,
        *fit_args(model, None, None, None),
    )
    assert list(core.q_sb) == list(threads.q_sb)
    assert (core.cls_obs, list(core.cls_exp)) == (threads.CLs_obs, threads.CLs_exp)


def test_ranking_on_dask_equals_threads(client, small) -> None:
    model, data = small
    best = infer.fit(data, model)
    threads = infer.ranking(data, model, fit_result=best, jobs=2)
    with get_executor(client=client) as ex:
        dask = infer.ranking(data, model, fit_result=best, executor=ex)
    _same(dask, threads)
    # the C++ ranking of every parameter in one call, in the same order
    core = _core.impacts(
        model._model, np.asarray(data), *fit_args(model, None, None, None), 1, best.core
    )
    names = [model.config.par_names[i] for i in core.pars]
    order = [names.index(label) for label in threads.labels]
    assert list(np.asarray(core.postfit_up)[order]) == list(threads.postfit_up)
    assert list(np.asarray(core.prefit_down)[order]) == list(threads.prefit_down)


def _killed_mid_run(
    client, func, items, shared, chunk_size, kill_after, path, **encoding
):
    """Runs the map on Dask in a thread, kills one worker (os._exit) once
    ``kill_after`` items are in the checkpoint; returns the results and how many
    items had finished at the kill."""
    before = set(client.scheduler_info()["workers"])
    ckpt = Checkpoint(path, run="kill")
    found: dict[str, list] = {}

    def run() -> None:
        try:
            with get_executor(client=client) as ex:
                found["results"] = ex.map(
                    func, items, shared=shared, chunk_size=chunk_size,
                    checkpoint=ckpt.job("j", **encoding),
                )  # fmt: skip
        except Exception as err:  # reported by the test, not lost in the thread
            found["error"] = err

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while _lines(path) - 1 < kill_after and thread.is_alive():  # minus the header
        assert time.monotonic() < deadline, "no progress before the kill"
        time.sleep(0.01)
    assert "error" not in found, found.get("error")
    at_kill = _lines(path) - 1
    victim = sorted(before)[0]
    try:
        client.run(os._exit, 1, workers=[victim])
    except Exception:  # the worker died before it could answer
        pass
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "error" not in found, found.get("error")
    assert victim not in set(client.scheduler_info()["workers"])
    return found["results"], at_kill


def test_killed_worker_loses_no_toys(client, small, tmp_path: Path) -> None:
    """One of the two workers dies while toys run: the nanny restarts it, the
    scheduler reruns its tasks, every toy comes back equal to the threaded run."""
    model, data = small
    inputs = _ToyInputs(model, 1.0, "qtilde", *_plan(model, data), 5, ((), (), ()))
    items = list(range(400))
    expected = LocalExecutor(2).map(_toy_chunk, items, shared=inputs, chunk_size=4)
    found, at_kill = _killed_mid_run(
        client, _toy_chunk, items, inputs, 4, 19, tmp_path / "toys.jsonl"
    )
    assert at_kill < len(items), "the run ended before the kill"
    assert found == expected


@pytest.mark.skipif(not LBB.is_dir(), reason="1Lbb workspace missing")
def test_killed_worker_loses_no_grid_point(client, tmp_path: Path) -> None:
    """The same in a signal grid (one patch per task): every point comes back. Twelve
    points, so the grid (~50 ms a point) cannot end between the first finished
    point and the kill."""
    ws, ps = _subset_patchset(12)
    names = ps.patch_names
    inputs = _GridInputs(ws, ps, 1.0, "qtilde")
    expected = infer.grid(ws, ps, jobs=2)
    found, at_kill = _killed_mid_run(
        client, _grid_chunk, names, inputs, 1, 1, tmp_path / "grid.jsonl",
        encode=GridPoint.to_dict, decode=GridPoint.from_dict,
    )  # fmt: skip
    assert at_kill < len(names), "the grid ended before the kill"
    assert found == expected


def _plan(model, data):
    _, _, sb, b, _ = _core.toys_plan(
        model._model,
        np.asarray(data),
        1.0,
        "qtilde",
        *fit_args(model, None, None, None),
    )
    return list(sb), list(b)


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def test_resume_computes_only_missing_items(small, tmp_path: Path, monkeypatch) -> None:
    model, data = small
    inputs = _ToyInputs(model, 1.0, "qtilde", *_plan(model, data), 9, ((), (), ()))
    items = list(range(40))
    computed: list[int] = []

    def counting(shared, chunk):
        computed.extend(chunk)
        return _toy_chunk(shared, chunk)

    whole = LocalExecutor(1).map(counting, items, shared=inputs, chunk_size=5)
    assert sorted(computed) == items
    path = tmp_path / "out.checkpoint.jsonl"
    monkeypatch.setenv(INTERRUPT_AFTER_ENV, "3")
    computed.clear()
    with pytest.raises(KeyboardInterrupt):
        LocalExecutor(1).map(
            counting,
            items,
            shared=inputs,
            chunk_size=5,
            checkpoint=Checkpoint(path, run="r").job("toys"),
        )
    monkeypatch.delenv(INTERRUPT_AFTER_ENV)
    kept = _lines(path) - 1  # the header
    assert kept == 15  # 3 chunks of 5
    computed.clear()
    resumed = LocalExecutor(2).map(
        counting,
        items,
        shared=inputs,
        chunk_size=5,
        checkpoint=Checkpoint(path, run="r", resume=True).job("toys"),
    )
    assert len(computed) == len(items) - kept
    assert resumed == whole


@pytest.mark.skipif(not LBB.is_dir(), reason="1Lbb workspace missing")
def test_cli_grid_resumes_after_interrupt(tmp_path: Path) -> None:
    """hifit cls --patchset: Ctrl-C (simulated after 1 chunk) keeps the finished
    point; --resume computes the other one and writes the file an uninterrupted
    run writes."""
    spec = json.loads((LBB / "patchset.json").read_text())
    spec["patches"] = spec["patches"][:2]
    patchset = tmp_path / "patchset.json"
    patchset.write_text(json.dumps(spec))
    base = [sys.executable, "-m", "hifit.cli", "cls", str(LBB / "BkgOnly.json")]
    base += ["--patchset", str(patchset), "-j", "1", "-o"]
    env = {**os.environ, "HIFIT_PROGRESS": "0"}
    whole = subprocess.run([*base, str(tmp_path / "whole.json")], env=env, check=True)
    assert whole.returncode == 0
    out = tmp_path / "grid.json"
    stopped = subprocess.run(
        [*base, str(out)],
        env={**env, INTERRUPT_AFTER_ENV: "1"},
        capture_output=True,
        text=True,
    )
    assert stopped.returncode == 130 and not out.exists()
    assert "--resume" in stopped.stderr
    checkpoint = Path(f"{out}.checkpoint.jsonl")
    done = _lines(checkpoint) - 1
    assert done == 1  # chunks of one patch while the time per patch is unknown
    resumed = subprocess.run(
        [*base, str(out), "--resume", "-j", "2"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming, {done} of 2 items already done" in resumed.stderr
    assert not checkpoint.exists()
    assert out.read_text() == (tmp_path / "whole.json").read_text()


def test_checkpoint_skips_a_half_written_line_and_refuses_another_run(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.checkpoint.jsonl"
    job = Checkpoint(path, run={"mu": 1.0}).job("grid")
    job.record(0, ["a", "b"], [1.5, float("nan")])
    with open(path, "a") as stream:
        stream.write('{"job":"grid","i":2,"key":"c","r":')  # the process died here
    again = Checkpoint(path, run={"mu": 1.0}, resume=True).job("grid")
    done = again.finished(["a", "b", "c"])
    assert sorted(done) == [0, 1] and done[0] == 1.5 and np.isnan(done[1])
    with pytest.raises(CheckpointError, match="another run"):
        Checkpoint(path, run={"mu": 2.0}, resume=True)
    with pytest.raises(CheckpointError, match="not the same item"):
        again.finished(["a", "x", "c"])


def test_cli_resume_of_another_run_is_bad_input(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.json"
    workspace.write_text(json.dumps(WORKSPACE))
    out = tmp_path / "cls.json"
    Checkpoint(f"{out}.checkpoint.jsonl", run={"command": "something else"})
    cmd = [sys.executable, "-m", "hifit.cli", "cls", str(workspace), "--toys", "20"]
    done = subprocess.run(
        [*cmd, "-o", str(out), "--resume"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "another run" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    # without --resume the stale checkpoint is replaced, and removed at the end
    fresh = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    assert out.exists() and not Path(f"{out}.checkpoint.jsonl").exists()


COMBINE = LBB.parents[1] / "combine"
SHAPES = COMBINE / "ci" / "template-analysis_shape_autoMCStats.txt"
COUNTING = (
    COMBINE / "tutorials" / "statistical_routines_tutorial" / "datacard_obs12.txt"
)


@pytest.mark.parametrize(
    ("card", "method"),
    [
        (SHAPES, ["-M", "MultiDimFit", "--algo", "grid", "--points", "20"]),
        (SHAPES, ["-M", "GoodnessOfFit", "--algo", "saturated", "-t", "8"]),
        (
            COUNTING,
            ["-M", "HybridNew", "--LHCmode", "LHC-limits", "--singlePoint", "r=5"]
            + ["-T", "200", "--clsAcc", "0", "--freezeParameters"]
            + ["allConstrainedNuisances"],
        ),
    ],
    ids=["MultiDimFit-grid", "GoodnessOfFit-toys", "HybridNew"],
)
def test_combine_fan_outs_on_dask_equal_threads(
    client, tmp_path: Path, monkeypatch, card: Path, method: list[str]
) -> None:
    """hifit combine's grid scan, goodness-of-fit and HybridNew toys: the limit
    trees written from a Dask run equal those of the threaded run, entry by entry."""
    if not card.is_file():
        pytest.skip("Combine card missing")
    import uproot

    from hifit.combine import run
    from hifit.executor import using

    monkeypatch.chdir(tmp_path)
    assert run([str(card), *method, "-n", "Threads"]) == 0
    with get_executor(client=client) as ex, using(ex):
        assert run([str(card), *method, "-n", "Dask"]) == 0
    trees = {}
    for name in ("Threads", "Dask"):
        (path,) = tmp_path.glob(f"higgsCombine{name}.*.root")
        with uproot.open(path) as f:
            trees[name] = f["limit"].arrays(library="np")
    assert trees["Threads"].keys() == trees["Dask"].keys()
    for key, values in trees["Threads"].items():
        assert np.array_equal(values, trees["Dask"][key]), key
    assert len(trees["Dask"]["limit"]) >= 1


def _limit_fields(r: infer.UpperLimitResult) -> tuple:
    return (r.observed, r.expected, [p.fields() for p in r.points], r.valid, r.message)


def test_limit_scan_on_dask_equals_threads(client, small) -> None:
    model, data = small
    # 20 points: three 8-point segments, the last one short; unsorted on purpose
    mus = list(np.linspace(0.1, 10.0, 20)[::-1])
    one = infer.upper_limit(data, model, scan=mus, jobs=1)
    two = infer.upper_limit(data, model, scan=mus, jobs=2)
    with get_executor(client=client) as ex:
        dask = infer.upper_limit(data, model, scan=mus, executor=ex)
    assert _limit_fields(one) == _limit_fields(two) == _limit_fields(dask)
    # the C++ composition (limit_scan_range on the same segments, limit_from_scan)
    calc = infer.AsymptoticCalculator(data, model)
    core = _core.upper_limit_scan(calc._calc, mus, 0.05)
    assert (core.observed, list(core.expected)) == (one.observed, one.expected)
    # the former serial scan: one calculator, each fit warm-started from every
    # hypotest solved before; the same numbers to fit tolerance
    serial = [calc.hypotest(mu) for mu in sorted(mus)]
    for p, q in zip(one.points, serial, strict=True):
        assert p.mu == q.mu
        assert p.CLs_obs == pytest.approx(q.CLs_obs, abs=1e-6)
        assert p.CLs_exp == pytest.approx(q.CLs_exp, abs=1e-6)
    assert one.valid and np.isfinite([one.observed, *one.expected]).all()


def test_cli_limit_scan_resumes_after_interrupt(small, tmp_path: Path) -> None:
    """hifit limit --scan: Ctrl-C after one segment keeps it; --resume computes the
    others and writes the file an uninterrupted run (on 1 thread) writes."""
    model, data = small
    workspace = tmp_path / "ws.json"
    workspace.write_text(json.dumps(WORKSPACE))  # its observations: data[:3]
    base = [sys.executable, "-m", "hifit.cli", "limit", str(workspace)]
    base += ["--scan", "0.1:10:20", "-o"]
    env = {**os.environ, "HIFIT_PROGRESS": "0"}
    whole = tmp_path / "whole.json"
    subprocess.run([*base, str(whole), "-j", "1"], env=env, check=True)
    out = tmp_path / "limit.json"
    stopped = subprocess.run(
        [*base, str(out), "-j", "1"],
        env={**env, INTERRUPT_AFTER_ENV: "1"},
        capture_output=True,
        text=True,
    )
    assert stopped.returncode == 130 and not out.exists()
    checkpoint = Path(f"{out}.checkpoint.jsonl")
    assert _lines(checkpoint) - 1 == 1  # one segment
    resumed = subprocess.run(
        [*base, str(out), "--resume", "-j", "2"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming, 1 of 3 items already done" in resumed.stderr
    assert not checkpoint.exists()
    assert out.read_text() == whole.read_text()
    # root finding is sequential: the cluster options need --scan
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "hifit.cli",
            "limit",
            str(workspace),
            "--dask",
            "local:2",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "need --scan" in bad.stderr
