"""Timing machinery shared by the benchmark scripts in this folder.

Import it before anything that imports numpy (pyhf, hifit, cabinetry): importing
it pins every BLAS/OpenMP pool to one thread, so the comparisons are single-core
against single-core. hifit's own `jobs` threads are plain std::threads that never
read these variables. The scripts find this module because a script's own folder
is on sys.path.
"""

from __future__ import annotations

import importlib
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
for _var in THREAD_VARS:
    os.environ[_var] = "1"

# Timing fields only bench_fit.py fills in (and writes to its JSON).
FIT_FIELDS = ("twice_nll", "extra")


@dataclass(frozen=True)
class Policy:
    """How often to repeat a timed call, and what to record while doing so."""

    min_reps: int
    max_reps: int
    budget_s: float  # stop after min_reps once this much time was spent
    slow_s: float = math.inf  # a call slower than this ...
    slow_reps: int = 1  # ... caps the series at this many calls (1: stop now)
    slow_first_only: bool = False  # only the first call's time is held to slow_s
    others: bool = False  # also record other processes' CPU (Linux /proc/stat)


@dataclass
class Timing:
    """Repeated wall-clock (and CPU) times of one step."""

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # this process, all threads
    # CPU of other processes per call; None when the policy did not record it.
    others_s: list[float] | None = None
    error: str | None = None
    twice_nll: float | None = None  # bench_fit: -2 ln L the fit returned
    extra: dict[str, Any] = field(default_factory=dict)  # bench_fit: npars etc.

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.wall_s)

    @property
    def median(self) -> float | None:
        """Median wall time; includes a failed last call (see `ok_median`)."""
        return statistics.median(self.wall_s) if self.wall_s else None

    @property
    def ok_median(self) -> float | None:
        """Median wall time of a step that succeeded, else None."""
        return self.median if self.ok else None

    @property
    def cpu_per_wall(self) -> float | None:
        # > 1 means the step used more than one core (~2 for a jobs=2 step that
        # really ran on two cores).
        if not self.wall_s or sum(self.wall_s) == 0:
            return None
        return sum(self.cpu_s) / sum(self.wall_s)

    @property
    def other_cores(self) -> float | None:
        # Cores other processes kept busy meanwhile: they take the CPU that
        # hifit's extra threads (and, past one core, everything) would use.
        if self.others_s is None:
            return None
        if len(self.others_s) != len(self.wall_s) or sum(self.wall_s) == 0:
            return None
        return max(0.0, sum(self.others_s) / sum(self.wall_s))

    def to_json(
        self, omit: Collection[str] = (), failed_median: bool = True
    ) -> dict[str, Any]:
        """Fields plus ok, median_s, cpu_per_wall (and other_cores when other
        processes' CPU was recorded). `omit` drops keys (e.g. FIT_FIELDS);
        failed_median=False writes median_s null for a failed step."""
        out = asdict(self)
        out.update(
            ok=self.ok,
            median_s=self.median if failed_median else self.ok_median,
            cpu_per_wall=self.cpu_per_wall,
            other_cores=self.other_cores,
        )
        if self.others_s is None:
            omit = {*omit, "others_s", "other_cores"}
        return {k: v for k, v in out.items() if k not in omit}


def system_busy_s() -> float | None:
    """CPU seconds all processes have used since boot (Linux /proc/stat)."""
    try:
        cols = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal: all but idle and iowait
    busy = sum(int(cols[i]) for i in (1, 2, 3, 6, 7, 8))
    return busy / os.sysconf("SC_CLK_TCK")


def time_calls(fn: Callable[[], Any], policy: Policy) -> tuple[Timing, Any]:
    """Call `fn` repeatedly per `policy`; a raised exception ends the series."""
    timing = Timing(others_s=[] if policy.others else None)
    result, max_reps = None, policy.max_reps
    while len(timing.wall_s) < max_reps:
        busy0 = system_busy_s() if policy.others else None  # outside the timing
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            result = fn()
        except Exception as exc:  # a failed step is a result to report, not a crash
            timing.error = f"{type(exc).__name__}: {first_line(exc)}"
        timing.wall_s.append(time.perf_counter() - w0)
        timing.cpu_s.append(time.process_time() - c0)
        if timing.others_s is not None:
            busy1 = system_busy_s()
            if busy0 is not None and busy1 is not None:
                timing.others_s.append(busy1 - busy0 - timing.cpu_s[-1])
        if timing.error:
            break
        calls = len(timing.wall_s)
        if timing.wall_s[-1] > policy.slow_s and (
            calls == 1 or not policy.slow_first_only
        ):
            max_reps = min(max_reps, max(calls, policy.slow_reps))
        if calls >= policy.min_reps and sum(timing.wall_s) >= policy.budget_s:
            break
    return timing, result


def first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:limit]


def max_abs_diff(a: Any, b: Any) -> float:
    """Largest |a - b| over two equally shaped numbers or arrays (0 when empty)."""
    import numpy as np  # only once the tools (and so numpy) are loaded

    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    return float(np.max(np.abs(x - y))) if x.size else 0.0


# ------------------------------------------------------------------ reporting


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 999.5:
        return f"{seconds:.0f} s"  # .3g would switch to 1.2e+03 notation
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale * 0.9995:  # 0.9996 s is "1 s", not "1e+03 ms"
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def fmt_step(t: Timing | None, failed_time: bool = True) -> str:
    """Median time, or "failed" (with the failed call's time if `failed_time`)."""
    if t is None:
        return "n/a"
    if t.error:
        return f"failed ({fmt_time(t.wall_s[-1])})" if failed_time else "failed"
    return fmt_time(t.median)


def print_table(
    header: list[str],
    rows: list[list[str]],
    right: Collection[int] = (),
    cross: str = " | ",
) -> None:
    """Columns separated by " | ", right-aligned where listed in `right`; `cross`
    joins the dashes of the rule under the header."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, None, *rows]:
        if row is None:
            print(cross.join("-" * w for w in widths))
            continue
        cells = (
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        print(" | ".join(cells).rstrip())


# ----------------------------------------------------------------------- setup


def import_tool(name: str, submodules: Sequence[str] = ()) -> tuple[Any, str]:
    """Import a tool (and `submodules` of it, so they are not imported while timed);
    a tool that does not import is reported, and the other tool's half still runs."""
    try:
        module = importlib.import_module(name)
        for sub in submodules:  # attribute access: hifit forwards them lazily
            getattr(module, sub)
    except Exception as exc:  # missing or broken build: report, don't crash
        return None, f"not importable ({type(exc).__name__}: {first_line(exc)})"
    return module, getattr(module, "__version__", "unknown version")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
