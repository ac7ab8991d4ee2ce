"""Signal grids: one hypothesis test per patch of a patchset, in parallel.

The per-point work is C++ (``_core.SignalGrid``): the background workspace and the
patchset are parsed once, the background-only fit is done once and every point's
fits start from it, never from another point, so a point's result does not depend on
the chunk or thread it runs in. :func:`_grid_chunk` evaluates one list of patches and
is what an executor runs per chunk (``SignalGrid.run_range(begin, end, jobs)`` does
the same for an index range of the patchset); :func:`grid` is the public entry point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _core
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


def _grid_chunk(
    workspace: Workspace,
    patchset: PatchSet,
    names: list[str],
    *,
    mu: float = 1.0,
    test_stat: str = "qtilde",
    jobs: int = 1,
    signal_grid: Any = None,
) -> list[GridPoint]:
    """The grid points of ``names`` on ``jobs`` C++ threads (GIL released).

    ``signal_grid``: a ``_core.SignalGrid`` of the same inputs to reuse (it holds the
    background-only fit); built here when not given.
    """
    if signal_grid is None:
        signal_grid = _core.SignalGrid(workspace._ws, patchset._ps, mu, test_stat)
    results = signal_grid.run(list(names), jobs)
    index = {name: i for i, name in enumerate(patchset.patch_names)}
    return [
        GridPoint(
            patch=name,
            values=_values(patchset, index[name]),
            CLs_obs=float(r.cls_obs),
            CLs_exp=[float(x) for x in r.cls_exp],
            valid=bool(r.valid),
            message=r.message,
        )
        for name, r in zip(names, results, strict=True)
    ]


def _values(patchset: PatchSet, index: int) -> list[Any]:
    import json

    return json.loads(patchset._ps.values_json(index))


def grid(
    workspace: Workspace,
    patchset: PatchSet,
    *,
    mu: float = 1.0,
    test_stat: str = "qtilde",
    jobs: int = 1,
    patches: list[str] | None = None,
    progress: bool = False,
) -> list[GridPoint]:
    """Asymptotic CLs at POI = ``mu`` for every patch (in patchset order).

    Patching, model building and the fits run in C++ without the GIL, so ``jobs``
    threads work in parallel. A point whose fits did not converge has ``valid`` False
    and says why in ``message``.
    """
    names = list(patches or patchset.patch_names)
    signal_grid = _core.SignalGrid(workspace._ws, patchset._ps, mu, test_stat)
    if not progress:
        return _grid_chunk(
            workspace, patchset, names, jobs=jobs, signal_grid=signal_grid
        )
    from tqdm import tqdm

    # chunks of several points per thread: each chunk ends when its slowest point does
    step = max(1, jobs) * 8
    out: list[GridPoint] = []
    with tqdm(total=len(names), desc="signal grid", unit="patch") as bar:
        for start in range(0, len(names), step):
            chunk = names[start : start + step]
            out += _grid_chunk(
                workspace, patchset, chunk, jobs=jobs, signal_grid=signal_grid
            )
            bar.update(len(chunk))
    return out
