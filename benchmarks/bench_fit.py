"""Time hifit against pyhf on the same published ATLAS likelihoods, in one run.

Run from the project root:

    .venv/bin/python benchmarks/bench_fit.py [--quick] [--json OUT] [--only NAME]

See benchmarks/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Importing _timing pins every BLAS/OpenMP pool to one thread *before* numpy is
# first imported (by pyhf or hifit): the comparison is single-core against
# single-core.
from _timing import (
    THREAD_VARS,
    Policy,
    Timing,
    cpu_name,
    fmt_step,
    fmt_time,
    import_tool,
    print_table,
    time_calls,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "pyhf"
TARGET_SPEEDUP = 100.0
# pyhf fits slower than this are not repeated (the brief: 3 repeats, fewer if slow).
PYHF_SLOW_S = 10.0


@dataclass(frozen=True)
class Workload:
    name: str
    bkg: str  # background-only workspace, relative to DATA
    patch: str | None = None  # jsonpatch file or patchset, relative to DATA
    patch_name: str | None = None  # entry to take when `patch` is a patchset
    poi: bool = True  # False: POI-less model, ws.model(poi_name=None)
    target: bool = True  # does the issue's >= 100x target apply?


LBB = "atlas-1Lbb-ins1755298"
SBOTTOM = "atlas-sbottom-ins1748602"
WORKLOADS = (
    Workload(
        "1lbb",
        f"{LBB}/BkgOnly.json",
        f"{LBB}/patchset.json",
        "C1N2_Wh_hbb_1000_0",
    ),
    Workload(
        "sbottom-A",
        f"{SBOTTOM}/RegionA/BkgOnly.json",
        f"{SBOTTOM}/RegionA/patch.sbottom_1300_205_60.json",
    ),
    Workload(
        "sbottom-B",
        f"{SBOTTOM}/RegionB/BkgOnly.json",
        f"{SBOTTOM}/RegionB/patch.sbottom_1400_550_60.json",
    ),
    Workload(
        "sbottom-C",
        f"{SBOTTOM}/RegionC/BkgOnly.json",
        f"{SBOTTOM}/RegionC/patch.sbottom_1600_850_60.json",
    ),
    Workload("1lbb-bkgonly", f"{LBB}/BkgOnly.json", poi=False, target=False),
)
# Tiny model used once per tool so lazy imports and schema loading are not
# charged to the first workload.
WARMUP = Workload("warmup", "pyhf-docs-json/2-bin_1-channel.json", target=False)


# --------------------------------------------------------------------- inputs


def load_inputs(wl: Workload) -> tuple[dict, list | None]:
    """Parse the workspace and the patch operations with the stdlib json."""
    spec = json.loads((DATA / wl.bkg).read_text())
    if wl.patch is None:
        return spec, None
    doc = json.loads((DATA / wl.patch).read_text())
    if wl.patch_name is None:
        return spec, doc  # a plain jsonpatch file is already the list of ops
    for entry in doc["patches"]:
        if entry["metadata"]["name"] == wl.patch_name:
            return spec, entry["patch"]
    raise KeyError(f"{wl.patch_name} not in {wl.patch}")


# ----------------------------------------------------------------------- pyhf


def pyhf_build(pyhf: Any, spec: dict, ops: list | None, poi: bool):
    import jsonpatch  # a pyhf dependency

    ws = pyhf.Workspace(spec)
    if ops is not None:
        # The route pyhf.PatchSet.apply takes, minus its digest check.
        ws = pyhf.Workspace(jsonpatch.JsonPatch(ops).apply(ws))
    model = ws.model() if poi else ws.model(poi_name=None)
    return model, ws.data(model)


def pyhf_fit(pyhf: Any, model: Any, data: Any, minuit: bool) -> float:
    kwargs = {"return_uncertainties": True} if minuit else {}
    _, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True, **kwargs)
    return float(twice_nll)


def bench_pyhf(pyhf: Any, wl: Workload, spec, ops, pol: Policy) -> dict[str, Timing]:
    build, built = time_calls(lambda: pyhf_build(pyhf, spec, ops, wl.poi), pol)
    if not build.ok:
        return {"build": build}
    model, data = built
    build.extra["npars"] = model.config.npars
    out = {"build": build}
    for key, optimizer, minuit in (
        ("slsqp", "scipy", False),
        ("minuit", "minuit", True),
    ):
        pyhf.set_backend("numpy", optimizer)  # outside the timed region
        fit, nll = time_calls(lambda m=minuit: pyhf_fit(pyhf, model, data, m), pol)
        fit.twice_nll = nll if fit.ok else None
        out[key] = fit
    pyhf.set_backend("numpy", "scipy")
    return out


# ---------------------------------------------------------------------- hifit


def hifit_build(hifit: Any, spec: dict, ops: list | None, poi: bool):
    ws = hifit.Workspace(spec)
    if ops is not None:
        ws = ws.apply_patch(ops)
    model = ws.model() if poi else ws.model(poi_name=None)
    return model, ws.data(model)


def hifit_fit(hifit: Any, model: Any, data: Any):
    res = hifit.infer.fit(data, model)
    if not res.valid:
        raise RuntimeError(f"fit not valid (status {res.status})")
    return res


def bench_hifit(hifit: Any, wl: Workload, spec, ops, pol: Policy) -> dict[str, Timing]:
    build, built = time_calls(lambda: hifit_build(hifit, spec, ops, wl.poi), pol)
    if not build.ok:
        return {"build": build}
    model, data = built
    fit, res = time_calls(lambda: hifit_fit(hifit, model, data), pol)
    if fit.ok:
        fit.twice_nll = float(res.twice_nll)
        fit.extra.update(
            npars=len(res.bestfit), status=res.status, internal_wall_s=res.wall_time
        )
    return {"build": build, "fit": fit, "load": bench_hifit_load(hifit, wl, pol)}


def bench_hifit_load(hifit: Any, wl: Workload, pol: Policy) -> Timing:
    """hifit's own file readers, for comparison with Python's json.load."""

    def load():
        ws = hifit.Workspace.load(str(DATA / wl.bkg))
        if wl.patch_name is not None:
            return hifit.PatchSet.load(str(DATA / wl.patch)).apply(ws, wl.patch_name)
        if wl.patch is not None:
            return ws.apply_patch(json.loads((DATA / wl.patch).read_text()))
        return ws

    return time_calls(load, pol)[0]


# ------------------------------------------------------------------ reporting


def fmt_nll(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def pyhf_best(pyhf_res: dict[str, Timing]) -> tuple[str, Timing] | None:
    """The faster of pyhf's optimizers that succeeded."""
    ok = [(k, pyhf_res[k]) for k in ("slsqp", "minuit") if k in pyhf_res]
    ok = [(k, t) for k, t in ok if t.ok]
    return min(ok, key=lambda kt: kt[1].median) if ok else None


def summarize(wl: Workload, res: dict[str, Any]) -> dict[str, Any]:
    """Derived numbers for one workload: best pyhf optimizer, ratios, target."""
    py, hf = res.get("pyhf", {}), res.get("hifit", {})
    best = pyhf_best(py)
    summary: dict[str, Any] = {"pyhf_best": best[0] if best else None}
    if best and hf.get("fit") is not None and hf["fit"].ok and hf["build"].ok:
        py_total = py["build"].median + best[1].median
        hf_total = hf["build"].median + hf["fit"].median
        summary["ratio_total"] = py_total / hf_total
        summary["ratio_build"] = py["build"].median / hf["build"].median
        summary["ratio_fit"] = best[1].median / hf["fit"].median
        summary["delta_twice_nll"] = hf["fit"].twice_nll - best[1].twice_nll
        if wl.target:
            summary["target_met"] = summary["ratio_total"] >= TARGET_SPEEDUP
    return summary


def table_row(wl: Workload, res: dict[str, Any]) -> list[str]:
    py, hf, s = res.get("pyhf", {}), res.get("hifit", {}), res["summary"]
    best = py.get(s["pyhf_best"]) if s["pyhf_best"] else None
    ratio = s.get("ratio_total")
    hf_fit = hf.get("fit")
    return [
        wl.name,
        fmt_step(py.get("build")),
        fmt_step(hf.get("build")),
        fmt_step(py.get("slsqp")),
        fmt_step(py.get("minuit")),
        fmt_step(hf_fit),
        "n/a" if ratio is None else f"{ratio:.0f}x",
        f"{fmt_nll(best.twice_nll if best else None)} / "
        f"{fmt_nll(hf_fit.twice_nll if hf_fit else None)}",
    ]


def print_details(wl: Workload, res: dict[str, Any]) -> None:
    """Per-step repeats, failure reasons, twice_nll of every fit, thread check."""
    print(f"\n[{wl.name}] json.load {fmt_time(res['json_load_s'])}")
    for tool in ("pyhf", "hifit"):
        for step, t in res.get(tool, {}).items():
            line = f"  {tool:5} {step:6} {fmt_step(t):>18}  n={len(t.wall_s)}"
            if t.twice_nll is not None:
                line += f"  twice_nll={t.twice_nll:.6f}"
            if t.extra:
                line += "  " + " ".join(f"{k}={v}" for k, v in t.extra.items())
            if (t.cpu_per_wall or 0) > 1.2:
                line += f"  cpu/wall={t.cpu_per_wall:.2f} (multi-threaded?)"
            if t.error:
                line += f"\n        failed: {t.error}"
            print(line)
    s = res["summary"]
    if "ratio_total" in s:
        print(
            f"  ratios vs pyhf {s['pyhf_best']}: build {s['ratio_build']:.0f}x, "
            f"fit {s['ratio_fit']:.0f}x, build+fit {s['ratio_total']:.0f}x; "
            f"twice_nll hifit - pyhf = {s['delta_twice_nll']:+.2e}"
        )


def print_target(selected: list[Workload], results: dict[str, Any]) -> None:
    print(
        f"\nIssue target: hifit build+fit >= {TARGET_SPEEDUP:.0f}x faster than "
        "pyhf's best (not asserted)"
    )
    for wl in selected:
        if not wl.target:
            continue
        s = results[wl.name]["summary"]
        if "target_met" not in s:
            print(f"  {wl.name:12} n/a")
            continue
        verdict = "met" if s["target_met"] else "NOT met"
        print(f"  {wl.name:12} {s['ratio_total']:.0f}x  {verdict}")


# ----------------------------------------------------------------------- main


def policies(quick: bool) -> dict[str, Policy]:
    if quick:
        return {"pyhf": Policy(1, 1, 0.0), "hifit": Policy(5, 20, 0.5, PYHF_SLOW_S)}
    return {
        "pyhf": Policy(3, 3, 0.0, PYHF_SLOW_S),
        "hifit": Policy(20, 200, 3.0, PYHF_SLOW_S),
    }


def warm_up(pyhf: Any, hifit: Any) -> None:
    spec, ops = load_inputs(WARMUP)
    once = Policy(1, 1, 0.0)
    if pyhf is not None:
        bench_pyhf(pyhf, WARMUP, spec, ops, once)
    if hifit is not None:
        bench_hifit(hifit, WARMUP, spec, ops, once)


def run_workload(wl: Workload, tools: dict[str, Any], pol: dict[str, Policy]):
    t0 = time.perf_counter()
    spec, ops = load_inputs(wl)
    res: dict[str, Any] = {"json_load_s": time.perf_counter() - t0}
    if tools["pyhf"] is not None:
        res["pyhf"] = bench_pyhf(tools["pyhf"], wl, spec, ops, pol["pyhf"])
    if tools["hifit"] is not None:
        res["hifit"] = bench_hifit(tools["hifit"], wl, spec, ops, pol["hifit"])
    res["summary"] = summarize(wl, res)
    return res


def select(names: list[str] | None) -> list[Workload]:
    """Exact workload names win; otherwise NAME selects every name containing it."""
    if not names:
        return list(WORKLOADS)
    chosen = []
    for name in names:
        key = name.lower()
        exact = [w for w in WORKLOADS if w.name.lower() == key]
        matched = exact or [w for w in WORKLOADS if key in w.name.lower()]
        if not matched:
            valid = ", ".join(w.name for w in WORKLOADS)
            raise SystemExit(f"--only {name}: no such workload (have: {valid})")
        chosen += [w for w in matched if w not in chosen]
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    p.add_argument("--json", metavar="OUT", type=Path, help="write numbers as JSON")
    p.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this workload (repeatable; substring match): "
        + ", ".join(w.name for w in WORKLOADS),
    )
    return p.parse_args(argv)


def print_header(versions: dict[str, str], quick: bool) -> None:
    import numpy

    print("hifit vs pyhf fit benchmark")
    print(f"  python {platform.python_version()}, numpy {numpy.__version__}")
    for name in ("pyhf", "hifit"):
        print(f"  {name}: {versions[name]}")
    print(f"  cpu: {cpu_name()} ({os.cpu_count()} logical cores visible)")
    print(
        "  single-threaded: " + ", ".join(f"{v}=1" for v in THREAD_VARS) + " set "
        "before numpy was imported"
    )
    print(f"  data: {os.path.relpath(DATA, ROOT)} (relative to the repo root)")
    print(f"  mode: {'quick' if quick else 'full'}; times are medians of repeats")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = select(args.only)
    if not DATA.is_dir():
        raise SystemExit(f"data directory not found: {DATA}")
    tools, versions = {}, {}
    for name in ("pyhf", "hifit"):
        tools[name], versions[name] = import_tool(name)
    print_header(versions, args.quick)
    if tools["pyhf"] is not None:
        tools["pyhf"].set_backend("numpy", "scipy")
    warm_up(tools["pyhf"], tools["hifit"])

    pol = policies(args.quick)
    results = {}
    for wl in selected:
        print(f"running {wl.name} ...", file=sys.stderr, flush=True)
        results[wl.name] = run_workload(wl, tools, pol)

    header = [
        "workload",
        "pyhf build",
        "hifit build",
        "pyhf fit SLSQP",
        "pyhf fit MINUIT(+HESSE)",
        "hifit fit",
        "ratio vs pyhf best (build+fit)",
        "twice_nll pyhf / hifit",
    ]
    print()
    print_table(header, [table_row(wl, results[wl.name]) for wl in selected])
    for wl in selected:
        print_details(wl, results[wl.name])
    print_target(selected, results)

    if args.json:
        write_json(args.json, selected, results, versions, args.quick)
    return 0


def write_json(out: Path, selected, results, versions, quick: bool) -> None:
    def encode(obj):
        if isinstance(obj, Timing):
            return obj.to_json()
        if hasattr(obj, "item"):  # numpy scalars
            return obj.item()
        raise TypeError(f"cannot encode {type(obj).__name__}")

    doc = {
        "versions": versions,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "threads": {v: os.environ[v] for v in THREAD_VARS},
        "quick": quick,
        "target_speedup": TARGET_SPEEDUP,
        "workloads": {
            wl.name: {"spec": asdict(wl), **results[wl.name]} for wl in selected
        },
    }
    out.write_text(json.dumps(doc, indent=2, default=encode) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())
