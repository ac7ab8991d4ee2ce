"""Dask vs local threads: per-task overhead, scatter cost and throughput of hifit's
executor on 2 workers, and a cost model for a 10^5-point grid on a 500-core cluster.

Run from the project root (quick mode by default: a few minutes of 2 cores at most):

    .venv/bin/python benchmarks/bench_dask.py [--full] [--json OUT]

Workloads, each run on `hifit.executor.get_executor(2)` (2 threads in this process)
and on `get_executor(dask="local:2")` (a LocalCluster of 2 single-threaded worker
processes):

* empty tasks: per-task overhead (scheduling, (de)serialisation, round trip), as
  wall time and as CPU time of this process (client + a LocalCluster's scheduler)
  and of the workers;
* ship + build: the 1Lbb background-only workspace and patchset (15.7 MB of JSON
  text) shipped once per worker, then parsed and compiled there once;
* grid: the ATLAS 1Lbb signal grid (125 patches; quick: the first 16), asymptotic
  CLs at mu = 1 per patch (patch + model build + fits, in C++);
* toys: toy-based CLs on one 1Lbb signal point, 10^4 toys (quick: 20, the time
  extrapolated linearly: toys are independent and of equal cost on average);
* templates: the generated demo analysis (`hifit.examples.demo`) filled from its
  ntuples in file × entry-range units.

See benchmarks/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import cpu_name, system_busy_s  # first: pins BLAS pools to one thread

ROOT = Path(__file__).resolve().parents[1]
LBB = ROOT / ".." / "shared" / "data" / "pyhf" / "atlas-1Lbb-ins1755298"
TOY_PATCH = "C1N2_Wh_hbb_1000_0"
WORKERS = 2
# the paper model
MODEL_POINTS = 100_000
MODEL_CORES = 500
TASK_SECONDS = 0.1  # hifit's executor sizes chunks to about this
# demo.py: signal, ttbar, W+jets and ttbar_alternative trees of 40000 MC events each
# (each read by several templates), plus ~9000 data events
DEMO_EVENTS = 4 * 40_000


# --- the work (run on the workers; `shared` is scattered once per worker) -----------


class Inputs(dict):
    """The shared inputs. A worker keeps its compiled copy under "_compiled", which
    is never pickled: Dask may copy the scattered object from worker to worker."""

    def __reduce__(self) -> tuple:
        return (Inputs, ({k: v for k, v in self.items() if k != "_compiled"},))


def _compiled(shared: dict[str, Any]) -> tuple[Any, Any]:
    """The workspace and patchset, built on first use on each worker and kept in
    the worker's copy of ``shared``."""
    if "_compiled" not in shared:
        import hifit

        shared["_compiled"] = (
            hifit.Workspace(json.loads(shared["workspace"])),
            hifit.PatchSet(json.loads(shared["patchset"])),
        )
    return shared["_compiled"]


def empty_tasks(shared: Any, items: list[int]) -> list[int]:
    return items


def touch_shared(shared: dict[str, Any], items: list[int]) -> list[float]:
    """CPU seconds this thread spent building the inputs (0 when already built)."""
    cpu = time.thread_time()
    _compiled(shared)
    return [time.thread_time() - cpu] + [0.0] * (len(items) - 1)


def grid_points(shared: dict[str, Any], names: list[str]) -> list[tuple]:
    """(CLs, CPU seconds of this thread) per patch: CPU time hardly depends on how
    busy the machine is, wall time does."""
    from hifit.infer import hypotest

    workspace, patchset = _compiled(shared)
    results = []
    for name in names:
        cpu = time.thread_time()
        ws = patchset.apply(workspace, name)
        model = ws.model()
        cls = hypotest(1.0, ws.data(model), model).CLs_obs
        results.append((cls, time.thread_time() - cpu))
    return results


def toy_blocks(shared: dict[str, Any], blocks: list[int]) -> list[Any]:
    """CLs parts of ``shared['block']`` toys per block, seeded by the block index."""
    from hifit.infer import toys

    workspace, patchset = _compiled(shared)
    ws = patchset.apply(workspace, TOY_PATCH)
    model = ws.model()
    data = ws.data(model)
    out = []
    for block in blocks:
        cpu = time.thread_time()
        r = toys.hypotest(1.0, data, model, ntoys=shared["block"], seed=block, jobs=1)
        out.append((r.q_sb.tolist(), r.q_b.tolist(), time.thread_time() - cpu))
    return out


# --- measuring -----------------------------------------------------------------------


class Load:
    """CPU seconds used by all processes on the machine while a step ran."""

    def __init__(self) -> None:
        self.busy0 = system_busy_s()
        self.wall0 = time.perf_counter()

    def cores(self) -> float | None:
        busy1 = system_busy_s()
        if self.busy0 is None or busy1 is None:
            return None
        return (busy1 - self.busy0) / max(time.perf_counter() - self.wall0, 1e-9)


class CpuMeter:
    """CPU seconds of this process (client, and a LocalCluster's scheduler, which
    runs in a thread here) and of the Dask workers since construction."""

    def __init__(self, executor: Any) -> None:
        self.client = getattr(executor, "client", None)
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        workers = 0.0
        if self.client is not None:
            workers = sum(self.client.run(time.process_time).values())
        return time.process_time(), workers

    def used(self) -> tuple[float, float]:
        (h0, w0), (h1, w1) = self.start, self._now()
        return h1 - h0, w1 - w0


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Minimum wall time of ``repeats`` calls, and the last result."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def pristine(shared: dict[str, Any]) -> Inputs:
    """A copy without the compiled objects (threads add them to the caller's dict)."""
    return Inputs({k: v for k, v in shared.items() if k != "_compiled"})


def measure(executor: Any, args: argparse.Namespace, shared: dict) -> dict:
    """Every workload on one executor; times in seconds.

    Every ``map`` call ships its ``shared`` anew (and the workers compile it once),
    so the grid and toy walls include one ship + build; the per-point and per-toy
    core times exclude it.
    """
    out: dict[str, Any] = {}
    n_empty = 400 if args.full else 200
    # warm-up: workers import what the tasks use
    executor.map(touch_shared, list(range(WORKERS * 2)), shared=pristine(shared))

    cpu = CpuMeter(executor)
    wall, _ = timed(
        lambda: executor.map(empty_tasks, list(range(n_empty)), chunk_size=1), 3
    )
    out["overhead_per_task_s"] = wall / n_empty
    here, workers = cpu.used()
    out["overhead_cpu_here_per_task_s"] = here / (3 * n_empty)
    out["overhead_cpu_workers_per_task_s"] = workers / (3 * n_empty)

    one_each = list(range(WORKERS))
    small = {"x": 0}
    base, _ = timed(lambda: executor.map(empty_tasks, one_each, shared=small), 3)
    shipped, _ = timed(
        lambda: executor.map(empty_tasks, one_each, shared=pristine(shared)), 3
    )
    built, build_cpu = timed(
        lambda: executor.map(touch_shared, one_each, shared=pristine(shared)), 3
    )
    out["ship_s"] = max(shipped - base, 0.0)  # to all WORKERS workers
    out["build_s"] = max(built - shipped, 0.0)  # on the workers, in parallel
    out["build_cpu_s"] = max(build_cpu)
    setup = out["ship_s"] + out["build_s"]

    names = _patch_names(shared)[: None if args.full else args.grid_points]
    load = Load()
    wall, points = timed(
        lambda: executor.map(grid_points, names, shared=pristine(shared)), 1
    )
    out["grid"] = {
        "points": len(names),
        "wall_s": wall,
        "per_point_wall_s": max(wall - setup, 0.0) * WORKERS / len(names),
        "per_point_cpu_s": sum(cpu for _, cpu in points) / len(names),
        "machine_cores_busy": load.cores(),
        "CLs_obs": [cls for cls, _ in points],
    }

    ntoys = 10_000 if args.full else args.toys
    toy_shared = pristine(shared)
    toy_shared["block"] = args.toy_block
    blocks = list(range(max(1, ntoys // args.toy_block)))
    load = Load()
    wall, parts = timed(lambda: executor.map(toy_blocks, blocks, shared=toy_shared), 1)
    done = len(blocks) * args.toy_block
    per_toy = sum(part[2] for part in parts) / done
    out["toys"] = {
        "toys": done,
        "wall_s": wall,
        "per_toy_wall_s": max(wall - setup, 0.0) * WORKERS / done,
        "per_toy_cpu_s": per_toy,
        "extrapolated_1e4_s": setup + per_toy * 10_000 / WORKERS,
        "machine_cores_busy": load.cores(),
        "q_b": [q for part in parts for q in part[1]],
    }
    return out


def _patch_names(shared: dict) -> list[str]:
    return [p["metadata"]["name"] for p in json.loads(shared["patchset"])["patches"]]


def templates_bench(executor: Any, config: dict, folder: Path, step: int) -> float:
    from hifit.cabinetry import templates

    def build() -> None:
        cfg = json.loads(json.dumps(config))
        cfg["General"]["HistogramFolder"] = str(folder)
        templates.build(cfg, executor=executor, step_size=step)

    wall, _ = timed(build, 3)
    return wall


# --- the paper model -----------------------------------------------------------------


def paper_model(measured: dict, task_seconds: float = TASK_SECONDS) -> dict:
    """Wall time of MODEL_POINTS grid points on MODEL_CORES single-core workers,
    from the LocalCluster's numbers.

    compute: CPU per point × points ÷ cores, plus the workers' own per-task CPU;
    scheduling: points grouped into ~TASK_SECONDS chunks; the scheduler handles
      them one after another, at its CPU per task (an idle scheduler node: lower
      bound) or at the wall time per task measured here (upper bound). It runs while
      the workers compute: the run takes the longer of the two;
    ship: the inputs sent to every worker, one worker after the other from one
      machine (upper bound; Dask's broadcast fans out; 0 in the lower bound);
    build: the workers compile the inputs once each, all at the same time (CPU
      time in the lower bound, the wall time measured here in the upper);
    tail: the last chunk of a worker.
    """
    per_point = measured["grid"]["per_point_cpu_s"]
    per_task = max(1, round(task_seconds / per_point)) if per_point > 0 else 1
    tasks = math.ceil(MODEL_POINTS / per_task)
    worker_overhead = measured["overhead_cpu_workers_per_task_s"]
    compute = (per_point * MODEL_POINTS + worker_overhead * tasks) / MODEL_CORES
    tail = per_task * per_point
    sched_low = measured["overhead_cpu_here_per_task_s"] * tasks
    sched_high = measured["overhead_per_task_s"] * tasks
    ship = measured["ship_s"] / WORKERS * MODEL_CORES
    low = max(compute + tail, sched_low) + measured["build_cpu_s"]
    high = max(compute + tail, sched_high) + ship + measured["build_s"]
    return {
        "points_per_task": per_task,
        "tasks": tasks,
        "compute_s": compute,
        "tail_s": tail,
        "scheduling_low_s": sched_low,
        "scheduling_high_s": sched_high,
        "ship_s": ship,
        "build_low_s": measured["build_cpu_s"],
        "build_high_s": measured["build_s"],
        "total_lower_s": low,
        "total_upper_s": high,
    }


# --- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="125 points, 10^4 toys")
    parser.add_argument("--grid-points", type=int, default=16)
    parser.add_argument("--toys", type=int, default=20, help="quick mode's toys")
    parser.add_argument("--toy-block", type=int, default=10, help="toys per item")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()

    from hifit.examples.demo import generate
    from hifit.executor import get_executor

    # the JSON text: a string ships as one buffer, a parsed dict is pickled slowly
    shared = {
        "workspace": (LBB / "BkgOnly.json").read_text(),
        "patchset": (LBB / "patchset.json").read_text(),
    }
    size_mb = sum(len(text) for text in shared.values()) / 1e6
    print(
        f"# {cpu_name()}, {os.cpu_count()} cores; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"# {'full' if args.full else 'quick'} mode; shared inputs {size_mb:.1f} MB")

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        import yaml

        config = yaml.safe_load(generate(Path(tmp) / "demo").read_text())
        serial = get_executor(1)
        results["templates_serial_s"] = templates_bench(
            serial, config, Path(tmp) / "serial", 10_000
        )
        serial.close()
        for label, options in (("threads", {}), ("processes", {"dask": "local:2"})):
            print(f"# {label} ...", file=sys.stderr)
            executor = get_executor(WORKERS, **options)
            try:
                results[label] = measure(executor, args, pristine(shared))
                results[label]["templates_s"] = templates_bench(
                    executor, config, Path(tmp) / label, 10_000
                )
            finally:
                executor.close()

    print_results(results, args)


def print_results(results: dict[str, Any], args: argparse.Namespace) -> None:
    backends = ("threads", "processes")
    print(f"\n{'':34}{'threads':>14}{'processes':>14}")
    rows = [
        ("overhead per empty task", ("overhead_per_task_s",), "ms", 1e3),
        ("  CPU here (client+scheduler)", ("overhead_cpu_here_per_task_s",), "ms", 1e3),
        ("  CPU in the workers", ("overhead_cpu_workers_per_task_s",), "ms", 1e3),
        ("ship 1Lbb inputs to 2 workers", ("ship_s",), "ms", 1e3),
        ("build them on the workers", ("build_s",), "ms", 1e3),
        ("  CPU per worker", ("build_cpu_s",), "ms", 1e3),
        ("grid: wall", ("grid", "wall_s"), "s", 1),
        ("grid: wall × 2 per point", ("grid", "per_point_wall_s"), "ms", 1e3),
        ("grid: CPU per point", ("grid", "per_point_cpu_s"), "ms", 1e3),
        ("toys: wall", ("toys", "wall_s"), "s", 1),
        ("toys: wall × 2 per toy", ("toys", "per_toy_wall_s"), "ms", 1e3),
        ("toys: CPU per toy", ("toys", "per_toy_cpu_s"), "ms", 1e3),
        ("toys: 10^4 toys, 2 idle cores", ("toys", "extrapolated_1e4_s"), "s", 1),
        ("templates: wall", ("templates_s",), "s", 1),
    ]
    for label, keys, unit, scale in rows:
        cells = ""
        for backend in backends:
            value: Any = results[backend]
            for key in keys:
                value = value[key]
            cells += f"{value * scale:>11.3g} {unit:<2}"
        print(f"{label:34}{cells}")
    serial = results["templates_serial_s"]
    print(f"{'templates: 1 thread':34}{serial:>11.3g} s")
    grid, toys = results["threads"]["grid"], results["threads"]["toys"]
    print(
        f"  grid: {grid['points']} of 125 patches; toys: {toys['toys']} "
        f"(blocks of {args.toy_block}); templates: demo analysis, "
        f"{DEMO_EVENTS} MC events"
    )
    for backend in backends:
        busy = [results[backend][w]["machine_cores_busy"] for w in ("grid", "toys")]
        shown = "/".join("n/a" if b is None else f"{b:.2f}" for b in busy)
        print(
            f"  machine cores busy (all processes) during {backend} grid/toys: {shown}"
        )
    for workload, key in (("grid", "CLs_obs"), ("toys", "q_b")):
        ours = results["threads"][workload][key]
        same = ours == results["processes"][workload][key]
        print(f"  {workload} results identical threads vs processes: {same}")

    p = results["processes"]
    m = paper_model(p)
    results["paper_model"] = m
    per_point = p["grid"]["per_point_cpu_s"]
    print(
        f"\nModel: {MODEL_POINTS} grid points on {MODEL_CORES} cores "
        "(numbers of the LocalCluster; lower bound .. upper bound)"
    )
    print(
        f"  compute    ({per_point * 1e3:.3g} ms/point × {MODEL_POINTS} + "
        f"{p['overhead_cpu_workers_per_task_s'] * 1e3:.2g} ms/task × {m['tasks']}) "
        f"÷ {MODEL_CORES} = {m['compute_s']:.1f} s, + tail {m['tail_s']:.2f} s"
    )
    print(
        f"  scheduling {m['tasks']} tasks of {m['points_per_task']} point(s) × "
        f"{p['overhead_cpu_here_per_task_s'] * 1e3:.2g} .. "
        f"{p['overhead_per_task_s'] * 1e3:.3g} ms = {m['scheduling_low_s']:.0f} .. "
        f"{m['scheduling_high_s']:.0f} s (overlaps the compute: the longer counts)"
    )
    print(
        f"  ship       0 .. {p['ship_s'] / WORKERS * 1e3:.3g} ms/worker × "
        f"{MODEL_CORES} = {m['ship_s']:.1f} s"
    )
    print(
        f"  build      {m['build_low_s']:.2f} .. {m['build_high_s']:.2f} s "
        "(once per worker, all in parallel)"
    )
    print(
        f"  total      {m['total_lower_s']:.0f} .. {m['total_upper_s']:.0f} s "
        f"(one core: {per_point * MODEL_POINTS / 3600:.1f} h)"
    )
    # the scheduler keeps up when a task lasts longer than it takes to hand one
    # task to every core: task time >= cores × scheduler CPU per task
    keep_up = MODEL_CORES * p["overhead_cpu_here_per_task_s"]
    big = paper_model(p, max(keep_up, TASK_SECONDS))
    results["paper_model_keep_up"] = big
    print(
        f"  with tasks of >= {MODEL_CORES} × "
        f"{p['overhead_cpu_here_per_task_s'] * 1e3:.2g} ms = {keep_up:.2f} s "
        f"({big['points_per_task']} points, {big['tasks']} tasks): "
        f"{big['total_lower_s']:.0f} .. {big['total_upper_s']:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
