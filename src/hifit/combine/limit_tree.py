"""The ``limit`` TTree of ``higgsCombine<name>.<Method>.mH<mass>.root`` as Combine
writes it (bin/combine.cpp): the common branches in Combine's order and types, then
the method's own (MultiDimFit's POIs and deltaNLL, as floats), and an empty ``toys``
directory. Written with uproot through :func:`hifit.io.root_file` (atomic)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..io import root_file

# bin/combine.cpp: t->Branch("limit", &limit, "limit/D") ...
COMMON_BRANCHES: dict[str, type] = {
    "limit": np.float64,
    "limitErr": np.float64,
    "mh": np.float64,
    "syst": np.int32,
    "iToy": np.int32,
    "iSeed": np.int32,
    "iChannel": np.int32,
    "t_cpu": np.float32,
    "t_real": np.float32,
    "quantileExpected": np.float32,
}


def branch_types(rows: Sequence[Mapping[str, float]]) -> dict[str, type]:
    """Common branches, then every other key of the rows in first-seen order:
    float32 (Combine's MultiDimFit/Significance extras) unless the value is a numpy
    scalar, which keeps its type."""
    types = dict(COMMON_BRANCHES)
    for row in rows:
        for key, value in row.items():
            if key not in types:
                types[key] = (
                    value.dtype.type if isinstance(value, np.generic) else np.float32
                )
    return types


def write(
    path: str | os.PathLike[str],
    rows: Sequence[Mapping[str, float]],
    *,
    mass: float,
    seed: int,
    toy: int = 0,
    syst: bool = True,
    extra_branches: Mapping[str, type] | None = None,
) -> None:
    """Writes ``rows`` (branch -> value); missing common values are Combine's:
    limit/limitErr 0, mh the mass, syst 1, iToy ``toy`` (0 data, -1 Asimov, N),
    iSeed the seed, iChannel 0, t_cpu/t_real 0 (Combine no longer times),
    quantileExpected -1."""
    types = branch_types(rows)
    for key, kind in (extra_branches or {}).items():
        types.setdefault(key, kind)
    defaults = {
        "limit": 0.0, "limitErr": 0.0, "mh": float(mass), "syst": int(syst),
        "iToy": int(toy), "iSeed": int(seed), "iChannel": 0, "t_cpu": 0.0,
        "t_real": 0.0, "quantileExpected": -1.0,
    }  # fmt: skip
    columns = {
        key: np.array(
            [row.get(key, defaults.get(key, 0.0)) for row in rows], dtype=kind
        )
        for key, kind in types.items()
    }
    with root_file(path) as out:
        tree = out.mktree(
            "limit", {k: np.dtype(t) for k, t in types.items()}, title="limit"
        )
        if rows:
            tree.extend(columns)
        out.mkdir("toys")
