"""Signal grids: one hypothesis test per patch of a patchset, on an executor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..executor import Executor, LocalExecutor
from ..executor_checkpoint import CheckpointJob
from ..pyhf_workspace import PatchSet, Workspace
from .hypotest import hypotest


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


@dataclass(frozen=True)
class _GridInputs:
    """What every grid task needs, shipped once per worker: the background-only
    workspace and the patches of the grid's points (as JSON, not the whole patchset:
    1Lbb's is 14 MB)."""

    workspace: Workspace
    patches: dict[str, str]  # name -> JSON patch
    values: dict[str, list[Any]]  # name -> the patch's metadata values
    mu: float
    test_stat: str


def _grid_chunk(inputs: _GridInputs, names: list[str]) -> list[GridPoint]:
    """The grid points of ``names``: patching, model building and the fits run in C++
    without the GIL. Each point depends on its patch alone (no warm start from a
    neighbour), so any chunking gives the same numbers."""
    out = []
    for name in names:
        ws = inputs.workspace.apply_patch(inputs.patches[name], source=name)
        model = ws.model()
        r = hypotest(inputs.mu, ws.data(model), model, test_stat=inputs.test_stat)
        out.append(
            GridPoint(
                patch=name,
                values=inputs.values[name],
                CLs_obs=r.CLs_obs,
                CLs_exp=r.CLs_exp,
                valid=r.valid,
                message=r.message,
            )
        )
    return out


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
    names = patches or patchset.patch_names
    inputs = _GridInputs(
        workspace,
        {name: patchset._ps.patch_json(name) for name in names},
        {name: patchset.values(name) for name in names},
        float(mu),
        test_stat,
    )
    own = executor is None
    executor = executor or LocalExecutor(jobs)
    try:
        return executor.map(
            _grid_chunk,
            names,
            shared=inputs,
            desc="signal grid" if progress else None,
            checkpoint=checkpoint,
        )
    finally:
        if own:
            executor.close()
