"""Convergence census: every shared likelihood x every inference command.

For each published or validation pyhf workspace with a POI (signal patches applied for
1Lbb and sbottom) and each public Combine card, runs fit, MINOS of the POI, CLs at
POI = 1, limits, significance, a profile scan and the ranking, and prints which did
not converge. Run from the project root:

    .venv/bin/python benchmarks/convergence_census.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jsonpatch
import numpy as np

import hifit
from hifit import infer
from hifit.datacard import load_model

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
LBB_PATCHES = ["C1N2_Wh_hbb_1000_0", "C1N2_Wh_hbb_300_150"]


def workspaces() -> Iterator[tuple[str, hifit.Workspace]]:
    pyhf = DATA / "pyhf"
    for path in sorted(pyhf.rglob("*.json")):
        if "schemas" in path.parts or "histfactory-xml" in path.parts:
            continue
        if "patch" in path.name:
            continue
        if path.name == "BkgOnly.json":
            yield from _patched(path)
            continue
        try:
            yield str(path.relative_to(pyhf)), hifit.Workspace.load(path)
        except hifit.HifitError:
            continue  # not a workspace (a patch, a fragment)


def _patched(background: Path) -> Iterator[tuple[str, hifit.Workspace]]:
    folder = background.parent
    if (folder / "patchset.json").exists():
        patches = hifit.PatchSet.load(folder / "patchset.json")
        for name in LBB_PATCHES:
            ws = patches.apply(hifit.Workspace.load(background), name)
            yield f"{folder.name}:{name}", ws
        return
    spec = json.loads(background.read_text())
    for patch in sorted(folder.glob("patch.*.json")):
        patched = jsonpatch.apply_patch(spec, json.loads(patch.read_text()))
        yield f"{folder.name}:{patch.name}", hifit.Workspace(patched)


def cards() -> Iterator[tuple[str, object, object]]:
    runs = json.loads((DATA / "combine/references/combine_real_runs.json").read_text())
    for card, run in runs["cards"].items():
        if "error" not in run:  # Combine itself refuses that card
            built = load_model(str(DATA / "combine" / card), mass=run["mass"])
            yield card, built.model, built.data


def census(model, data) -> dict[str, bool]:
    best = infer.fit(data, model)
    out = {"fit": best.valid}
    poi = model.config.poi_index
    if poi is None:
        return out
    minos = infer.minos(data, model, [poi], fit_result=best)
    out["minos"] = all(i.valid for i in minos.values())
    out["cls"] = infer.hypotest(1.0, data, model).valid
    out["limit"] = infer.upper_limit(data, model).valid
    out["significance"] = infer.significance(data, model).valid
    lo, hi = model.config.suggested_bounds()[poi]
    x, s = best.bestfit[poi], best.uncertainty[poi] or 1.0
    grid = np.linspace(max(lo, x - 2 * s), min(hi, x + 2 * s), 11)
    out["scan"] = bool(infer.scan(data, model, poi, grid, jobs=2).valid.all())
    out["ranking"] = infer.ranking(data, model, jobs=2).valid
    return out


def main() -> None:
    entries = [(name, ws.model(), ws) for name, ws in workspaces()]
    rows = [(name, model, ws.data(model)) for name, model, ws in entries]
    rows += list(cards())
    runs = converged = 0
    for name, model, data in rows:
        start = time.perf_counter()
        result = census(model, data)
        failed = [command for command, ok in result.items() if not ok]
        runs += len(result)
        converged += len(result) - len(failed)
        took = time.perf_counter() - start
        print(f"{name}: {', '.join(failed) or 'all converge'} ({took:.2f} s)")
    print(f"likelihoods {len(rows)}, runs {runs}, converged {converged}")


if __name__ == "__main__":
    main()
