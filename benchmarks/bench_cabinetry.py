"""Time cabinetry's tutorial chain run by cabinetry and by hifit, in one run.

Both tools run every step (config → templates → workspace → fit → ranking, scan,
limit, significance) on the same shared tutorial inputs, each writing its
histograms into its own temporary folder. Run from the project root:

    .venv/bin/python benchmarks/bench_cabinetry.py [--quick] [--json OUT]

See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

# Importing _timing pins every BLAS/OpenMP pool to one thread *before* numpy is
# first imported (by cabinetry/pyhf or hifit). hifit's ranking runs its refits on
# its own std::threads, which ignore these variables (the details show cpu/wall).
from _timing import (
    FIT_FIELDS,
    THREAD_VARS,
    Policy,
    Timing,
    cpu_name,
    fmt_step,
    fmt_time,
    import_tool,
    max_abs_diff,
    print_table,
    time_calls,
)

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / ".." / "shared" / "data" / "cabinetry" / "tutorials"
TOOLS = ("cabinetry", "hifit")
MODULES = ("configuration", "templates", "workspace", "model_utils", "fit", "tabulate")
POI = "Signal_norm"
SCAN_PAR = "WeightBasedModeling"  # the parameter the tutorial notebook scans
SCAN_STEPS = 11


@dataclass(frozen=True)
class Route:
    """One way from a config to a workspace."""

    name: str
    config: str  # relative to TUTORIALS
    method: str  # templates.build (ntuples) or templates.collect (histograms)


ROUTES = (
    Route("ntuples", "config_ntuples.yml", "build"),
    Route("histograms", "config_histograms.yml", "collect"),
)
# The inference steps run on the workspace of this route (both routes give the same
# workspace; the output says whether they did).
INFERENCE_ROUTE = ROUTES[0]


# ---------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    run: Callable[[dict[str, Any]], Any]  # state -> result (stored under key)
    group: str  # "input" (per route) or "inference"


def load_config(st: dict[str, Any], route: Route) -> dict[str, Any]:
    """configuration.load (which validates), paths pointed at the shared inputs."""
    config = st["tool"].configuration.load(TUTORIALS / route.config)
    general = config["General"]
    general["InputPath"] = str(TUTORIALS / general["InputPath"])
    general["HistogramFolder"] = str(st["dir"] / route.name / "histograms")
    return config


def templates(st: dict[str, Any], route: Route) -> None:
    make = getattr(st["tool"].templates, route.method)
    make(st[f"config_{route.name}"], method="uproot")


def predictions(st: dict[str, Any]) -> dict[str, Any]:
    tool, model, data = st["tool"], st["model_and_data"][0], st["model_and_data"][1]
    folder = st["dir"] / "tables"
    pre = tool.model_utils.prediction(model)
    post = tool.model_utils.prediction(model, fit_results=st["fit"])
    return {
        "prefit": tool.tabulate.yields(pre, data, table_folder=folder),
        "postfit": tool.tabulate.yields(post, data, table_folder=folder),
    }


def route_steps(route: Route) -> list[Step]:
    r = route.name
    return [
        Step(
            f"config_{r}",
            f"config load+validate ({r})",
            lambda st: load_config(st, route),
            "input",
        ),
        Step(
            f"templates_{r}",
            f"templates.{route.method} ({r})",
            lambda st: templates(st, route),
            "input",
        ),
        Step(
            f"postprocess_{r}",
            f"templates.postprocess ({r})",
            lambda st: st["tool"].templates.postprocess(st[f"config_{r}"]),
            "input",
        ),
        Step(
            f"workspace_{r}",
            f"workspace.build ({r})",
            lambda st: st["tool"].workspace.build(st[f"config_{r}"]),
            "input",
        ),
    ]


def model_data(st: dict[str, Any]) -> tuple[Any, Any]:
    return st["model_and_data"]


INFERENCE_STEPS = [
    Step(
        "model_and_data",
        "model_utils.model_and_data",
        lambda st: st["tool"].model_utils.model_and_data(
            st[f"workspace_{INFERENCE_ROUTE.name}"]
        ),
        "inference",
    ),
    Step("fit", "fit.fit", lambda st: st["tool"].fit.fit(*model_data(st)), "inference"),
    Step(
        "predictions",
        "prediction pre+post + tabulate.yields",
        predictions,
        "inference",
    ),
    Step(
        "ranking",
        "fit.ranking (given the fit)",
        lambda st: st["tool"].fit.ranking(*model_data(st), fit_results=st["fit"]),
        "inference",
    ),
    Step(
        "scan",
        f"fit.scan ({SCAN_STEPS} points)",
        lambda st: st["tool"].fit.scan(*model_data(st), SCAN_PAR, n_steps=SCAN_STEPS),
        "inference",
    ),
    Step(
        "limit",
        "fit.limit",
        lambda st: st["tool"].fit.limit(*model_data(st)),
        "inference",
    ),
    Step(
        "significance",
        "fit.significance",
        lambda st: st["tool"].fit.significance(*model_data(st)),
        "inference",
    ),
]
STEPS = [s for r in ROUTES for s in route_steps(r)] + INFERENCE_STEPS

# Sums of step medians reported as totals.
HEADLINE = ["templates", "postprocess", "workspace", "model_and_data", "fit", "ranking"]


def chain_keys(route: Route, steps: list[str] | None = None) -> list[str]:
    """Step keys of a route's chain (inference steps: from INFERENCE_ROUTE)."""
    per_route = {"config", "templates", "postprocess", "workspace"}
    if steps is None:
        steps = ["config", "templates", "postprocess", "workspace"] + [
            s.key for s in INFERENCE_STEPS
        ]
    return [f"{s}_{route.name}" if s in per_route else s for s in steps]


TOTALS = [
    (f"templates → fit → ranking ({r.name})", chain_keys(r, HEADLINE)) for r in ROUTES
] + [(f"full chain ({r.name})", chain_keys(r)) for r in ROUTES]


# ------------------------------------------------------------------ running


def new_state(tool: Any, workdir: Path) -> dict[str, Any]:
    for route in ROUTES:
        (workdir / route.name / "histograms").mkdir(parents=True)
    return {"tool": tool, "dir": workdir}


def run_steps(
    states: dict[str, dict[str, Any]], policies: dict[str, Policy], skip=()
) -> dict[str, dict[str, Timing]]:
    """Every step, cabinetry then hifit, so both see the machine in the same state."""
    timings: dict[str, dict[str, Timing]] = {name: {} for name in states}
    for step in STEPS:
        print(f"  {step.label} ...", file=sys.stderr, flush=True)
        for name, st in states.items():
            if (name, step.key) in skip:
                continue
            timing, result = time_calls(partial(step.run, st), policies[name])
            timings[name][step.key] = timing
            if timing.ok:
                st[step.key] = result
    return timings


def warm_up(tools: dict[str, Any], base: Path) -> None:
    """One untimed pass per tool, so lazy imports (uproot, scipy, ...) and file
    caches are not charged to the first timed call. cabinetry's limit (~6 s) only
    runs hypotests, which its significance already warmed up, and is skipped."""
    once = Policy(1, 1, 0.0)
    states = {n: new_state(t, base / f"warmup-{n}") for n, t in tools.items()}
    run_steps(states, dict.fromkeys(tools, once), skip={("cabinetry", "limit")})


def policies(quick: bool) -> dict[str, Policy]:
    if quick:
        return {"cabinetry": Policy(1, 1, 0.0), "hifit": Policy(3, 20, 0.2)}
    # cabinetry: 3-9 repeats; a step whose first call exceeds 2 s (the limit, ~6 s)
    # runs twice. hifit: at least 5 repeats and 0.5 s per step.
    return {
        "cabinetry": Policy(3, 9, 2.0, slow_s=2.0, slow_reps=2, slow_first_only=True),
        "hifit": Policy(5, 200, 0.5),
    }


# ---------------------------------------------------------------- correctness


def poi_index(fit: Any) -> int:
    return list(fit.labels).index(POI)


def rel_diff(a: Any, b: Any) -> float:
    """Largest relative difference of the numbers in two equally shaped JSON
    documents; inf if their structure or any non-number differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float("inf")
        return max((rel_diff(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return float("inf")
        return max((rel_diff(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return abs(a - b) / max(abs(a), abs(b)) if a != b else 0.0
    return 0.0 if a == b else float("inf")


def results_of(st: dict[str, Any]) -> dict[str, Any]:
    """The numbers shown next to the speed, as plain floats."""
    out: dict[str, Any] = {}
    if "fit" in st:
        fit, i = st["fit"], poi_index(st["fit"])
        out["poi"] = float(fit.bestfit[i])
        out["poi_unc"] = float(fit.uncertainty[i])
        out["twice_nll"] = float(fit.best_twice_nll)
    if "limit" in st:
        out["limit_obs"] = float(st["limit"].observed_limit)
        out["limit_exp"] = [float(x) for x in st["limit"].expected_limit]
    if "significance" in st:
        sig = st["significance"]
        out["significance_obs"] = float(sig.observed_significance)
        out["significance_exp"] = float(sig.expected_significance)
        out["p_obs"] = float(sig.observed_p_value)
    return out


def compare(states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Cross-tool checks: identical workspaces and tables, largest differences."""
    cab, hf = states.get("cabinetry", {}), states.get("hifit", {})
    checks: dict[str, Any] = {}
    for route in ROUTES:
        key = f"workspace_{route.name}"
        if key in cab and key in hf:
            checks[f"same workspace ({route.name})"] = cab[key] == hf[key]
    for name, st in states.items():
        keys = [f"workspace_{r.name}" for r in ROUTES]
        if all(k in st for k in keys):
            # histograms.root holds the ntuple yields rounded to ~8 digits
            checks[f"{name}: ntuples vs histograms workspace, max rel. |Δ|"] = max(
                rel_diff(st[keys[0]], st[k]) for k in keys
            )
    if "predictions" in cab and "predictions" in hf:
        checks["same pre-fit yield tables"] = (
            cab["predictions"]["prefit"] == hf["predictions"]["prefit"]
        )
    if "ranking" in cab and "ranking" in hf:
        same_labels = list(cab["ranking"].labels) == list(hf["ranking"].labels)
        checks["same ranking labels"] = same_labels
        if same_labels:
            checks["ranking max |Δ impact|"] = max(
                max_abs_diff(getattr(cab["ranking"], f), getattr(hf["ranking"], f))
                for f in ("prefit_up", "prefit_down", "postfit_up", "postfit_down")
            )
    if "scan" in cab and "scan" in hf:
        # each tool scans best fit ± 2σ of its own fit, so the points differ slightly
        checks["scan max |Δ point|"] = max_abs_diff(
            cab["scan"].parameter_values, hf["scan"].parameter_values
        )
    return checks


# ------------------------------------------------------------------ reporting


def fmt_ratio(cab: float | None, hf: float | None) -> str:
    if cab is None or hf is None or hf <= 0:
        return "n/a"
    ratio = cab / hf
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2f}x"


def total(timings: dict[str, Timing], keys: list[str]) -> float | None:
    medians = [timings[k].ok_median if k in timings else None for k in keys]
    return None if any(m is None for m in medians) else sum(medians)


def timing_rows(timings: dict[str, dict[str, Timing]]) -> list[list[str]]:
    cab, hf = timings.get("cabinetry", {}), timings.get("hifit", {})
    rows = []
    for step in STEPS:
        c, h = cab.get(step.key), hf.get(step.key)
        rows.append(
            [
                step.label,
                fmt_step(c, failed_time=False),
                str(len(c.wall_s)) if c else "",
                fmt_step(h, failed_time=False),
                str(len(h.wall_s)) if h else "",
                fmt_ratio(c.ok_median if c else None, h.ok_median if h else None),
            ]
        )
    rows.append(["", "", "", "", "", ""])
    for label, keys in TOTALS:
        c, h = total(cab, keys), total(hf, keys)
        rows.append([label, fmt_time(c), "", fmt_time(h), "", fmt_ratio(c, h)])
    return rows


def fmt_val(value: Any, digits: int = 5) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.3f}" for v in value) + "]"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:.{digits}g}"


def print_results(res: dict[str, dict[str, Any]], checks: dict[str, Any]) -> None:
    cab, hf = res.get("cabinetry", {}), res.get("hifit", {})

    def both(key: str) -> tuple[Any, Any]:
        return cab.get(key), hf.get(key)

    def poi(r: dict[str, Any]) -> str:
        if "poi" not in r:
            return "n/a"
        return f"{r['poi']:.5f} ± {r['poi_unc']:.5f}"

    rows = [[f"{POI} best fit ± σ", poi(cab), poi(hf), diff(*both("poi"))]]
    for key, label in (
        ("twice_nll", "-2 ln L at best fit"),
        ("limit_obs", "observed limit (95% CL)"),
        ("limit_exp", "expected limit −2σ … +2σ"),
        ("significance_obs", "observed significance"),
        ("significance_exp", "expected significance"),
        ("p_obs", "observed p-value"),
    ):
        c, h = both(key)
        rows.append([label, fmt_val(c), fmt_val(h), diff(c, h)])
    print()
    print_table(["result", "cabinetry", "hifit", "max |Δ|"], rows, cross="-+-")
    print()
    for label, value in checks.items():
        print(f"  {label}: {fmt_val(value, 2)}")


def diff(c: Any, h: Any) -> str:
    if c is None or h is None:
        return "n/a"
    return f"{max_abs_diff(c, h):.2g}"


def print_details(timings: dict[str, dict[str, Timing]]) -> None:
    """Failures and steps that used more than one core."""
    lines = []
    for name, steps in timings.items():
        for key, t in steps.items():
            if t.error:
                lines.append(f"  {name} {key}: failed: {t.error}")
            elif (t.cpu_per_wall or 0) > 1.2:
                lines.append(
                    f"  {name} {key}: cpu/wall {t.cpu_per_wall:.2f} (multi-threaded)"
                )
    if lines:
        print()
        print("\n".join(lines))


# ----------------------------------------------------------------------- main


def version_of(name: str) -> str:
    try:
        return importlib.import_module(name).__version__
    except Exception:
        return "not importable"


def quiet() -> None:
    """Both tools log (and warn about) the tutorial's empty signal bin; not timed
    output."""
    warnings.simplefilter("ignore")
    for name in ("cabinetry", "hifit", "pyhf"):
        logging.getLogger(name).setLevel(logging.ERROR)


def print_header(versions: dict[str, str], quick: bool) -> None:
    import numpy

    print("cabinetry vs hifit (`import hifit as cabinetry`): tutorial chain")
    print(f"  python {platform.python_version()}, numpy {numpy.__version__}")
    for name in ("cabinetry", "pyhf", "iminuit", "hifit"):
        print(f"  {name}: {versions[name]}")
    print(f"  cpu: {cpu_name()} ({os.cpu_count()} logical cores visible)")
    print(f"  load average at start: {os.getloadavg()[0]:.2f}")
    print(
        "  single-threaded BLAS: " + ", ".join(f"{v}=1" for v in THREAD_VARS) + " set "
        "before numpy was imported"
    )
    print(f"  data: {os.path.relpath(TUTORIALS, ROOT)} (relative to the repo root)")
    print(
        f"  mode: {'quick' if quick else 'full'}; times are medians of n repeats; "
        f"inference on the {INFERENCE_ROUTE.name} workspace"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="cabinetry once per step")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write raw results")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not TUTORIALS.is_dir():
        raise SystemExit(f"data directory not found: {TUTORIALS}")
    t_start = time.perf_counter()
    quiet()
    tools, versions = {}, {}
    for name in TOOLS:
        # its cabinetry-API modules too (lazy in hifit), so imports are not timed
        tools[name], versions[name] = import_tool(name, MODULES)
    for name in ("pyhf", "iminuit"):  # cabinetry's engine, for the header
        versions[name] = version_of(name)
    tools = {name: t for name, t in tools.items() if t is not None}
    print_header(versions, args.quick)

    with tempfile.TemporaryDirectory(prefix="bench_cabinetry_") as tmp:
        base = Path(tmp)
        print("warm-up ...", file=sys.stderr, flush=True)
        warm_up(tools, base)
        print("timing ...", file=sys.stderr, flush=True)
        # separate HistogramFolders: base/<tool>/<route>/histograms
        states = {name: new_state(t, base / name) for name, t in tools.items()}
        timings = run_steps(states, policies(args.quick))
        results = {name: results_of(st) for name, st in states.items()}
        checks = compare(states)

    print()
    header = ["step", "cabinetry", "n", "hifit", "n", "cabinetry / hifit"]
    print_table(header, timing_rows(timings), right={1, 2, 3, 4, 5}, cross="-+-")
    print(
        f"(totals are sums of medians; the {ROUTES[1].name} totals reuse the "
        f"inference steps timed on the {INFERENCE_ROUTE.name} workspace; "
        "'templates → fit → ranking' = templates + postprocess + workspace.build "
        "+ model_and_data + fit + ranking)"
    )
    print_results(results, checks)
    print_details(timings)
    elapsed = time.perf_counter() - t_start
    print(f"\nbenchmark wall time {elapsed:.0f} s")

    if args.json:
        write_json(args.json, timings, results, checks, versions, args.quick)
    return 0


def write_json(out: Path, timings, results, checks, versions, quick: bool) -> None:
    def encode(obj):
        if isinstance(obj, Timing):
            return obj.to_json(omit=FIT_FIELDS, failed_median=False)
        if hasattr(obj, "item"):  # numpy scalars
            return obj.item()
        raise TypeError(f"cannot encode {type(obj).__name__}")

    cab, hf = timings.get("cabinetry", {}), timings.get("hifit", {})
    doc = {
        "versions": versions,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "threads": {v: os.environ[v] for v in THREAD_VARS},
        "quick": quick,
        "steps": {s.key: s.label for s in STEPS},
        "timings": timings,
        "totals": {
            label: {
                "keys": keys,
                "cabinetry_s": total(cab, keys),
                "hifit_s": total(hf, keys),
            }
            for label, keys in TOTALS
        },
        "results": results,
        "checks": checks,
    }
    out.write_text(json.dumps(doc, indent=2, default=encode) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
