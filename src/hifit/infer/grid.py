"""Signal grids: one hypothesis test per patch of a patchset, in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

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
    names = patches or patchset.patch_names

    def one(name: str) -> GridPoint:
        ws = patchset.apply(workspace, name)
        model = ws.model()
        r = hypotest(mu, ws.data(model), model, test_stat=test_stat)
        return GridPoint(
            patch=name,
            values=patchset.values(name),
            CLs_obs=r.CLs_obs,
            CLs_exp=r.CLs_exp,
            valid=r.valid,
            message=r.message,
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = pool.map(one, names)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(names), desc="signal grid", unit="patch")
        return list(results)
