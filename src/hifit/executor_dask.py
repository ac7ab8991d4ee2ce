"""The Dask backend of :mod:`hifit.executor` (imported only when a cluster is used).

``shared`` is scattered with ``broadcast=True``: each worker holds one copy and
every task on it receives that object, so per-worker caches (a compiled model built
on first use) are built once per worker. A worker that dies has its tasks rerun by
the scheduler elsewhere; if a chunk is lost anyway (all copies of its inputs gone,
or the scheduler gave up on it as a ``KilledWorker``), the chunk is submitted again
with freshly scattered inputs, up to ``RESUBMITS`` times. Exceptions raised by the
work itself are not retried: they are the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .executor import Executor, _run_chunk

RESUBMITS = 3


def _infrastructure_errors() -> tuple[type[BaseException], ...]:
    import asyncio
    import concurrent.futures

    from distributed.scheduler import KilledWorker

    errors: list[type[BaseException]] = [
        KilledWorker,
        asyncio.CancelledError,
        concurrent.futures.CancelledError,
    ]
    try:
        from distributed.client import FutureCancelledError

        errors.append(FutureCancelledError)
    except ImportError:  # older distributed
        pass
    return tuple(errors)


def _quiet_distributed() -> None:
    """Clusters hifit starts or connects to itself (--dask, --scheduler) log
    warnings only, not the INFO lines and closed-connection notes of every shutdown
    (a client given by the user keeps its logging)."""
    logging.getLogger("distributed").setLevel(logging.WARNING)


class DaskExecutor(Executor):
    """Chunks as tasks on a ``dask.distributed`` cluster."""

    in_flight_per_worker = 4  # a round trip through the scheduler takes milliseconds

    def __init__(self, client: Any, *, owned: tuple[Any, ...] = ()) -> None:
        self.client = client
        self._owned = owned  # closed with the executor (client, cluster we started)
        self._retry_errors = _infrastructure_errors()

    @classmethod
    def connect(cls, address: str) -> DaskExecutor:
        from distributed import Client

        _quiet_distributed()
        client = Client(address)
        return cls(client, owned=(client,))

    @classmethod
    def local_cluster(cls, workers: int) -> DaskExecutor:
        """A LocalCluster of ``workers`` single-threaded worker processes (each
        worker's C++ fits use one core)."""
        from distributed import Client, LocalCluster

        _quiet_distributed()
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: never collide with another cluster
        )
        client = Client(cluster)
        return cls(client, owned=(client, cluster))

    @property
    def jobs(self) -> int:  # type: ignore[override]
        """Worker threads on the cluster now (at least 1: an adaptive cluster may be
        still starting its workers)."""
        return max(1, sum(self.client.nthreads().values()))

    def _start(self, shared: Any) -> None:
        self._shared_value = shared
        self._scatter()

    def _scatter(self) -> None:
        # a list of one: scatter would split a list/dict ``shared`` into pieces
        self._shared = self.client.scatter(
            [self._shared_value], broadcast=True, hash=False
        )[0]

    def _submit(self, func: Callable, items: list[Any]) -> Any:
        return self.client.submit(_run_chunk, func, self._shared, items, pure=False)

    def _wait_first(self, futures: list[Any]) -> list[Any]:
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
        return [f for f in futures if f in done]

    def _result(
        self, future: Any, func: Callable, items: list[Any]
    ) -> tuple[list[Any], float]:
        for attempt in range(RESUBMITS + 1):
            try:
                return future.result()
            except self._retry_errors:
                if attempt == RESUBMITS:
                    raise
                if self._shared.status != "finished":
                    self._scatter()  # every copy was on workers that died
                future = self._submit(func, items)
        raise AssertionError("unreachable")

    def _cancel(self, futures: list[Any]) -> None:
        if futures:
            self.client.cancel(futures)

    def _finish(self) -> None:
        try:
            self.client.cancel([self._shared])
        except Exception:  # the client may be closing already
            pass
        self._shared = self._shared_value = None

    def close(self) -> None:
        for owned in self._owned:
            owned.close()
        self._owned = ()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address}, jobs={self.jobs})"
