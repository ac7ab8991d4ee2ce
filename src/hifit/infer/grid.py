"""Signal grids: one hypothesis test per patch of a patchset, on an executor.

The per-point work is C++ (``_core.SignalGrid``): the background workspace and the
patchset are parsed once, the background-only fit is done once and every point's
fits start from it, never from another point, so a point's result does not depend on
the chunk, thread or process it runs in. :func:`_grid_chunk` evaluates one list of
patches and is what the executor runs per chunk; :func:`grid` is the public entry.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from .. import _core
from ..executor import Executor, map_on
from ..executor_checkpoint import CheckpointJob
from ..pyhf_workspace import PatchSet, Workspace


@dataclass(frozen=True)
class GridPoint:
    patch: str
    values: list[Any]
    CLs_obs: float
    CLs_exp: list[float]
    valid: bool
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "patch": self.patch,
            "values": self.values,
            "CLs_obs": self.CLs_obs,
            "CLs_exp": self.CLs_exp,
            "valid": self.valid,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GridPoint:
        return cls(
            d["patch"],
            d["values"],
            d["CLs_obs"],
            d["CLs_exp"],
            d["valid"],
            d["message"],
        )


class _GridInputs:
    """What every grid task needs, shipped once per worker: the background-only
    workspace, the patchset and the test. The compiled ``_core.SignalGrid`` (which
    holds the background-only fit) is built once per process where it is first used
    and never pickled."""

    def __init__(
        self, workspace: Workspace, patchset: PatchSet, mu: float, test_stat: str
    ) -> None:
        self.workspace, self.patchset = workspace, patchset
        self.mu, self.test_stat = float(mu), test_stat
        self._lock = threading.Lock()
        self._grid: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            k: getattr(self, k) for k in ("workspace", "patchset", "mu", "test_stat")
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def signal_grid(self) -> Any:
        with self._lock:
            if self._grid is None:
                self._grid = _core.SignalGrid(
                    self.workspace._ws, self.patchset._ps, self.mu, self.test_stat
                )
            return self._grid


def _grid_chunk(inputs: _GridInputs, names: list[str]) -> list[GridPoint]:
    """The grid points of ``names``: patching, model building and the fits run in C++
    without the GIL. Each point depends on its patch alone, so any chunking gives the
    same numbers."""
    results = inputs.signal_grid().run(list(names), 1)
    index = {name: i for i, name in enumerate(inputs.patchset.patch_names)}
    return [
        GridPoint(
            patch=name,
            values=json.loads(inputs.patchset._ps.values_json(index[name])),
            CLs_obs=float(r.cls_obs),
            CLs_exp=[float(x) for x in r.cls_exp],
            valid=bool(r.valid),
            message=r.message,
        )
        for name, r in zip(names, results, strict=True)
    ]


def grid(
    workspace: Workspace,
    patchset: PatchSet,
    *,
    mu: float = 1.0,
    test_stat: str = "qtilde",
    jobs: int = 1,
    patches: list[str] | None = None,
    progress: bool = False,
    executor: Executor | None = None,
    checkpoint: CheckpointJob | None = None,
) -> list[GridPoint]:
    """Asymptotic CLs at POI = ``mu`` for every patch (in patchset order).

    The points run on ``executor`` (default: ``jobs`` threads; a Dask executor from
    :func:`hifit.executor.get_executor` runs them on a cluster). A point whose fits
    did not converge has ``valid`` False and says why in ``message``. ``checkpoint``
    (``Checkpoint.job(..., encode=GridPoint.to_dict, decode=GridPoint.from_dict)``)
    keeps finished points for a resumed run.
    """
    names = list(patches or patchset.patch_names)
    inputs = _GridInputs(workspace, patchset, mu, test_stat)
    return map_on(
        executor,
        jobs,
        _grid_chunk,
        names,
        shared=inputs,
        desc="signal grid" if progress else None,
        checkpoint=checkpoint,
    )
