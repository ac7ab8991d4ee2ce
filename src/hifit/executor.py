"""Where embarrassingly parallel work runs: in-process threads (the default) or a
Dask cluster.

Every fan-out in hifit (signal grids, toys, scans, ranking, Combine's grid scans,
HybridNew and goodness-of-fit toys) calls
:meth:`Executor.map` with a function of ``(shared, chunk)`` that returns one result
per item of its chunk. The function calls C++ with the GIL released, so threads run
in parallel; on Dask the same function runs in worker processes and ``shared`` (the
compiled inputs) is sent once per worker, not once per task.

Results never depend on where or in which chunk an item ran: callers make each
item's result a function of the item alone (toys are seeded per toy index, fits
start from one fixed point, scans warm-start only inside fixed segments), so
threads and Dask give identical numbers.

Chunks grow as the run goes: the first ones hold a single item; afterwards each new
chunk is sized from the measured time per item so a task lasts about
``TARGET_TASK_SECONDS`` (a Dask task costs ~1 ms on an idle scheduler, 10-20 ms
measured on a loaded 2-core machine), but never so large that a worker would sit
idle.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .executor_checkpoint import Checkpoint, CheckpointJob

__all__ = [
    "Checkpoint",
    "Executor",
    "LocalExecutor",
    "current_executor",
    "get_executor",
    "parse_dask_option",
    "using",
]

TARGET_TASK_SECONDS = 0.1
# Progress bars appear once a run has lasted this long (tqdm's ``delay``).
PROGRESS_DELAY_SECONDS = 1.0
# Tests: raise KeyboardInterrupt after this many chunks were recorded into a
# checkpoint (a simulated Ctrl-C at a reproducible point; fan-outs without a
# checkpoint, as template filling before a run's fits, go on).
INTERRUPT_AFTER_ENV = "HIFIT_TEST_INTERRUPT_AFTER_CHUNKS"
# "1" shows progress bars even when stderr is not a terminal, "0" never.
PROGRESS_ENV = "HIFIT_PROGRESS"


def _run_chunk(
    func: Callable[[Any, list[Any]], Sequence[Any]], shared: Any, items: list[Any]
) -> tuple[list[Any], float]:
    """A task: the results of one chunk and the seconds they took."""
    start = time.perf_counter()
    results = list(func(shared, items))
    if len(results) != len(items):
        raise RuntimeError(
            f"{getattr(func, '__name__', func)} returned {len(results)} results "
            f"for {len(items)} items"
        )
    return results, time.perf_counter() - start


def progress_enabled(desc: str | None) -> bool:
    if desc is None:
        return False
    forced = os.environ.get(PROGRESS_ENV)
    if forced is not None:
        return forced not in ("", "0")
    return sys.stderr.isatty()


class _Progress:
    """A tqdm bar on stderr, imported only when it can show (tqdm costs start-up)."""

    def __init__(self, desc: str | None, total: int, initial: int) -> None:
        self.bar = None
        if progress_enabled(desc) and total > initial:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=initial,
                desc=desc,
                file=sys.stderr,
                delay=PROGRESS_DELAY_SECONDS,
                dynamic_ncols=True,
            )

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Chunker:
    """Hands out contiguous chunks of the pending item indices, sized from the time
    per item measured so far."""

    def __init__(self, pending: list[int], workers: int, chunk_size: int | None):
        self.runs = _contiguous_runs(pending)
        self.remaining = len(pending)
        self.workers = max(1, workers)
        self.fixed = chunk_size
        self.seconds_per_item: float | None = None

    def measured(self, nitems: int, seconds: float) -> None:
        per_item = seconds / max(1, nitems)
        # the latest measurement: the first tasks on a worker pay one-off set-up
        self.seconds_per_item = per_item

    def size(self) -> int:
        if self.fixed:
            return self.fixed
        if self.seconds_per_item is None:
            return 1
        by_time = math.ceil(TARGET_TASK_SECONDS / max(self.seconds_per_item, 1e-9))
        by_balance = math.ceil(self.remaining / self.workers)
        return max(1, min(by_time, by_balance))

    def next(self) -> tuple[int, int] | None:
        """(first index, count) of the next chunk, or None when all are handed out."""
        if not self.runs:
            return None
        first, count = self.runs[0]
        take = min(count, self.size())
        if take == count:
            self.runs.pop(0)
        else:
            self.runs[0] = (first + take, count - take)
        self.remaining -= take
        return first, take


def _contiguous_runs(indices: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


class Executor(ABC):
    """Runs chunks of work items in parallel; see :meth:`map`."""

    jobs: int
    # chunks kept in flight per worker: enough to hide the round trip to a worker,
    # few enough that chunk sizes follow the measured time per item
    in_flight_per_worker = 2

    def map(
        self,
        func: Callable[[Any, list[Any]], Sequence[Any]],
        items: Sequence[Any],
        *,
        shared: Any = None,
        desc: str | None = None,
        chunk_size: int | None = None,
        checkpoint: CheckpointJob | None = None,
    ) -> list[Any]:
        """Results of ``func(shared, chunk)`` for contiguous chunks of ``items`` (func
        returns one result per item of its chunk), flattened back in item order.

        ``shared`` is shipped once per worker. A progress bar on stderr (``desc``)
        advances as chunks complete, when the run lasts over a second and stderr is
        a terminal (or ``HIFIT_PROGRESS=1``). ``checkpoint`` (from
        :meth:`Checkpoint.job`) records finished items as they complete; items it
        already holds (a resumed run) are not rerun.
        """
        items = list(items)
        results: list[Any] = [None] * len(items)
        done = checkpoint.finished(items) if checkpoint is not None else {}
        for i, r in done.items():
            results[i] = r
        pending = [i for i in range(len(items)) if i not in done]
        if done and pending and desc:
            print(
                f"hifit: {desc}: resuming, {len(done)} of {len(items)} items "
                f"already done",
                file=sys.stderr,
            )
        if not pending:
            return results
        chunker = _Chunker(pending, self.jobs, chunk_size)
        progress = _Progress(desc, len(items), len(done))
        interrupt_after = int(os.environ.get(INTERRUPT_AFTER_ENV, "0") or 0)
        if checkpoint is None:
            interrupt_after = 0
        recorded = 0
        try:
            for first, chunk_results, seconds in self._run(
                func, items, shared, chunker
            ):
                count = len(chunk_results)
                results[first : first + count] = chunk_results
                chunker.measured(count, seconds)
                if checkpoint is not None:
                    checkpoint.record(
                        first, items[first : first + count], chunk_results
                    )
                progress.update(count)
                recorded += 1
                if interrupt_after and recorded >= interrupt_after:
                    raise KeyboardInterrupt
        finally:
            progress.close()
        return results

    def _run(
        self,
        func: Callable[[Any, list[Any]], Sequence[Any]],
        items: list[Any],
        shared: Any,
        chunker: _Chunker,
    ) -> Iterator[tuple[int, list[Any], float]]:
        """Yield (first index, results, seconds) per chunk as chunks complete, keeping
        ``in_flight_per_worker`` chunks per worker in flight.
        Pending work is cancelled when the consumer stops (an exception or Ctrl-C)."""
        self._start(shared)
        in_flight: dict[Any, tuple[int, int]] = {}
        try:
            while True:
                # asked each round: a cluster may grow while the run goes
                workers = self.jobs
                chunker.workers = workers
                while len(in_flight) < self.in_flight_per_worker * workers:
                    nxt = chunker.next()
                    if nxt is None:
                        break
                    first, count = nxt
                    in_flight[self._submit(func, items[first : first + count])] = nxt
                if not in_flight:
                    return
                for fut in self._wait_first(list(in_flight)):
                    first, count = in_flight.pop(fut)
                    chunk = items[first : first + count]
                    chunk_results, seconds = self._result(fut, func, chunk)
                    yield first, chunk_results, seconds
        finally:
            self._cancel(list(in_flight))
            self._finish()

    # --- what a backend provides -------------------------------------------------
    @abstractmethod
    def _start(self, shared: Any) -> None:
        """Ship ``shared`` to the workers, for the tasks :meth:`_submit` creates."""

    @abstractmethod
    def _submit(self, func: Callable, items: list[Any]) -> Any:
        """A future of ``_run_chunk(func, shared, items)``."""

    @abstractmethod
    def _wait_first(self, futures: list[Any]) -> list[Any]:
        """The futures among ``futures`` that are done (at least one)."""

    @abstractmethod
    def _result(
        self, future: Any, func: Callable, items: list[Any]
    ) -> tuple[list[Any], float]:
        """The future's (results, seconds); ``func`` and ``items`` let a backend
        resubmit a chunk lost to a dead worker."""

    @abstractmethod
    def _cancel(self, futures: list[Any]) -> None: ...

    def _finish(self) -> None:  # noqa: B027 (optional hook)
        """Release what :meth:`_start` shipped."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release the workers this executor started (not a client given to it)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """A thread pool in this process; fits run in C++ with the GIL released."""

    def __init__(self, jobs: int = 1) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.jobs = max(1, int(jobs))
        self._pool = ThreadPoolExecutor(max_workers=self.jobs)

    def _start(self, shared: Any) -> None:
        self._shared = shared

    def _submit(self, func: Callable, items: list[Any]) -> Any:
        return self._pool.submit(_run_chunk, func, self._shared, items)

    def _wait_first(self, futures: list[Any]) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return [f for f in futures if f in done]

    def _result(
        self, future: Any, func: Callable, items: list[Any]
    ) -> tuple[list[Any], float]:
        return future.result()

    def _cancel(self, futures: list[Any]) -> None:
        for f in futures:
            f.cancel()

    def _finish(self) -> None:
        self._shared = None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return f"LocalExecutor(jobs={self.jobs})"


def map_on(
    executor: Executor | None,
    jobs: int,
    func: Callable[[Any, list[Any]], Sequence[Any]],
    items: Sequence[Any],
    **options: Any,
) -> list[Any]:
    """``executor.map(func, items, **options)``; without an executor, on ``jobs``
    threads made (and shut down) for this call."""
    if executor is not None:
        return executor.map(func, items, **options)
    with LocalExecutor(jobs) as own:
        return own.map(func, items, **options)


def parse_dask_option(value: str) -> int:
    """Workers of ``--dask local:N``."""
    kind, _, count = value.partition(":")
    if kind != "local" or not count.isdigit() or int(count) < 1:
        raise ValueError(
            f"--dask {value!r}: expected local:N (a LocalCluster of N worker "
            "processes); for a running cluster use --scheduler tcp://host:port"
        )
    return int(count)


def get_executor(
    jobs: int | None = None,
    *,
    scheduler: str | None = None,
    dask: str | None = None,
    client: Any = None,
) -> Executor:
    """The executor for the given options: a Dask ``client``, a scheduler address
    (``tcp://host:8786``), ``dask="local:N"`` (a LocalCluster of N worker processes,
    closed with the executor), else ``jobs`` local threads (None or 0: one per core).
    """
    given = [x is not None for x in (scheduler, dask, client)]
    if sum(given) > 1:
        raise ValueError("give at most one of --scheduler, --dask and client")
    if client is not None or scheduler is not None or dask is not None:
        from .executor_dask import DaskExecutor

        if client is not None:
            return DaskExecutor(client)
        if scheduler is not None:
            return DaskExecutor.connect(scheduler)
        return DaskExecutor.local_cluster(parse_dask_option(dask or ""))
    return LocalExecutor(jobs or os.cpu_count() or 1)


_CURRENT: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "hifit_executor", default=None
)


@contextlib.contextmanager
def using(executor: Executor) -> Iterator[Executor]:
    """Make ``executor`` the one :func:`current_executor` returns inside the block:
    for code reached through layers that do not pass one along (``hifit combine``'s
    methods)."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


def current_executor() -> Executor | None:
    return _CURRENT.get()


def fan_out_executor() -> Executor | None:
    """:func:`current_executor`, or one thread when a checkpoint is being recorded
    (``hifit combine``'s HybridNew and GoodnessOfFit toys keep finished toys only
    through an executor; one thread is what their C++ path runs on)."""
    from .executor_checkpoint import recording_active

    found = current_executor()
    if found is None and recording_active():
        return LocalExecutor(1)
    return found
