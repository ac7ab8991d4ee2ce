"""Time hifit's inference (CLs, grids, ranking, scans, limits) against pyhf, in one run.

Run from the project root:

    .venv/bin/python benchmarks/bench_inference.py [--quick] [--json OUT]
        [--only NAME] [--jobs N] [--slow] [--pyhf-grid-sample K]
        [--pyhf-ranking-sample K] [--pyhf-scan-sample K]

See benchmarks/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any

# Importing _timing pins every BLAS/OpenMP pool to one thread *before* numpy is
# first imported: pyhf's numpy work then runs on one core. hifit's `jobs` are plain
# std::threads that never read these variables, so jobs=2 still gets two cores.
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
    system_busy_s,
    time_calls,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "pyhf"
# A single pyhf call slower than this is not repeated.
PYHF_SLOW_S = 10.0
HYPOTEST_TARGET = 200.0  # issue: one 1Lbb hypotest >= 200x faster than pyhf
GRID_TARGET_S = 30.0  # issue: full 1Lbb grid under 30 s on a 2-core machine
BUSY_CORES = 0.25  # other processes' CPU use above which the output warns
SCAN_VALUES = [round(0.1 * i, 10) for i in range(21)]  # POI 0, 0.1, ..., 2

LBB = "atlas-1Lbb-ins1755298"
SBOTTOM = "atlas-sbottom-ins1748602"


@dataclass(frozen=True)
class Point:
    """One signal hypothesis: background-only workspace plus one patch."""

    bkg: str  # relative to DATA
    patch: str  # jsonpatch file or patchset, relative to DATA
    patch_name: str | None = None  # entry to take when `patch` is a patchset


LBB_POINT = Point(f"{LBB}/BkgOnly.json", f"{LBB}/patchset.json", "C1N2_Wh_hbb_700_400")
SB_A = Point(
    f"{SBOTTOM}/RegionA/BkgOnly.json",
    f"{SBOTTOM}/RegionA/patch.sbottom_1300_205_60.json",
)
SB_C = Point(
    f"{SBOTTOM}/RegionC/BkgOnly.json",
    f"{SBOTTOM}/RegionC/patch.sbottom_1600_850_60.json",
)
WARMUP = Point("pyhf-docs-json/2-bin_1-channel.json", "")

# pyhf's toms748 limit on SB_A, from ../shared/reference/pyhf-model.md (App. A.3,
# pyhf b3dc4bb): shown next to hifit's limit when pyhf's ~100 s run is skipped.
SB_A_PYHF_LIMIT = (
    2.0101536110099287,
    [
        1.2426173302264165,
        1.7624153842302444,
        2.657891783660906,
        4.136657359062677,
        6.2969441024990624,
    ],
)


# --------------------------------------------------------------------- timing


def policy(min_reps: int, max_reps: int, budget_s: float) -> Policy:
    """A call slower than PYHF_SLOW_S is not repeated; every call also records the
    CPU other processes used meanwhile."""
    return Policy(min_reps, max_reps, budget_s, slow_s=PYHF_SLOW_S, others=True)


ONCE = policy(1, 1, 0.0)


def spread(items: Sequence[Any], k: int) -> list[Any]:
    """`k` items evenly spaced over `items`, both ends included (deterministic)."""
    if k >= len(items):
        return list(items)
    if k <= 0:
        return []
    if k == 1:
        return [items[len(items) // 2]]
    picks = (round(i * (len(items) - 1) / (k - 1)) for i in range(k))
    return [items[i] for i in dict.fromkeys(picks)]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("h") else "s")


# --------------------------------------------------------------------- inputs


@cache
def load_json(rel: str) -> Any:
    """Parse each file once; both tools copy the dict before changing it."""
    return json.loads((DATA / rel).read_text())


def patch_ops(point: Point) -> list | None:
    if not point.patch:
        return None
    doc = load_json(point.patch)
    if point.patch_name is None:
        return doc  # a plain jsonpatch file is already the list of operations
    return patchset_ops(doc, point.patch_name)


def patchset_ops(doc: dict, name: str) -> list:
    for entry in doc["patches"]:
        if entry["metadata"]["name"] == name:
            return entry["patch"]
    raise KeyError(f"{name} not in patchset")


@cache
def pyhf_model(pyhf: Any, point: Point) -> tuple[Any, Any]:
    """Model and observed data, built the way bench_fit.py builds them."""
    ws = pyhf.Workspace(load_json(point.bkg))
    return pyhf_patched(pyhf, ws, patch_ops(point))


def pyhf_patched(pyhf: Any, ws: Any, ops: list | None) -> tuple[Any, Any]:
    import jsonpatch  # a pyhf dependency

    if ops is not None:
        # The route pyhf.PatchSet.apply takes, minus its digest check.
        ws = pyhf.Workspace(jsonpatch.JsonPatch(ops).apply(ws))
    model = ws.model()
    return model, ws.data(model)


@cache
def hifit_model(hifit: Any, point: Point) -> tuple[Any, Any]:
    ws = hifit.Workspace(load_json(point.bkg))
    ops = patch_ops(point)
    if ops is not None:
        ws = ws.apply_patch(ops)
    model = ws.model()
    return model, ws.data(model)


# ---------------------------------------------------------------- the results


@dataclass
class Outcome:
    """Everything one workload measured; `pyhf_s` may be an extrapolation."""

    pyhf_s: float | None = None
    pyhf_note: str = ""  # how pyhf_s was obtained, or why it is missing
    extrapolated: bool = False
    hifit: dict[int, Timing] = field(default_factory=dict)  # by jobs
    parallel: bool = True  # does the hifit call take `jobs`?
    check: str = "n/a"  # correctness summary for the table
    numbers: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Timing] = field(default_factory=dict)  # every timed piece
    notes: list[str] = field(default_factory=list)

    def ratio(self, jobs: int) -> float | None:
        t = self.hifit.get(jobs)
        if self.pyhf_s is None or t is None or not t.ok:
            return None
        return self.pyhf_s / t.median

    def to_json(self) -> dict[str, Any]:
        # Shallow on purpose: asdict() would turn each Timing into a plain dict and
        # drop its median and cpu/wall; the JSON encoder calls Timing.to_json.
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["ratios"] = {j: self.ratio(j) for j in self.hifit}
        return out


@dataclass
class Ctx:
    pyhf: Any
    hifit: Any
    args: argparse.Namespace
    pol: dict[str, Policy]

    @property
    def jobs(self) -> list[int]:
        return sorted({1, max(1, self.args.jobs)})


def time_hifit(ctx: Ctx, out: Outcome, call: Callable[[int], Any]) -> Any:
    """Time `call(jobs)` for jobs 1 and N (once without jobs); last result back."""
    result = None
    for jobs in ctx.jobs if out.parallel else [1]:
        timing, res = time_calls(lambda j=jobs: call(j), ctx.pol["hifit"])
        out.hifit[jobs] = timing
        out.steps[f"hifit jobs={jobs}" if out.parallel else "hifit"] = timing
        result = res if timing.ok else result
    return result


def pyhf_set_optimizer(pyhf: Any, name: str) -> None:
    pyhf.set_backend("numpy", name)


# ------------------------------------------------------------ 1. hypotest


def bench_hypotest(ctx: Ctx, point: Point) -> Outcome:
    out = Outcome(parallel=False)
    hf = None
    if ctx.hifit is not None:
        model, data = hifit_model(ctx.hifit, point)
        hf = time_hifit(ctx, out, lambda _: ctx.hifit.infer.hypotest(1.0, data, model))
    py = None
    if ctx.pyhf is not None:
        model, data = pyhf_model(ctx.pyhf, point)
        timing, py = time_calls(
            lambda: ctx.pyhf.infer.hypotest(1.0, data, model, return_expected_set=True),
            ctx.pol["pyhf"],
        )
        out.steps["pyhf"] = timing
        record_pyhf(out, timing, f"median of {len(timing.wall_s)}")
    out.check, out.numbers = compare_cls(py, hf)
    return out


def record_pyhf(out: Outcome, timing: Timing, note: str) -> None:
    if timing.ok:
        out.pyhf_s, out.pyhf_note = timing.median, note
    else:
        out.pyhf_note = f"failed: {timing.error}"


def compare_cls(py: Any, hf: Any) -> tuple[str, dict[str, Any]]:
    nums: dict[str, Any] = {}
    if hf is not None:
        nums.update(hifit_CLs_obs=hf.CLs_obs, hifit_CLs_exp=hf.CLs_exp)
        nums["hifit_valid"] = hf.valid
    if py is not None:
        nums["pyhf_CLs_obs"] = float(py[0])
        nums["pyhf_CLs_exp"] = [float(x) for x in py[1]]
    if py is None or hf is None:
        return "n/a", nums
    nums["abs_diff_CLs_obs"] = abs(hf.CLs_obs - float(py[0]))
    nums["max_abs_diff_CLs_exp"] = max_abs_diff(hf.CLs_exp, py[1])
    check = (
        f"CLs_obs {float(py[0]):.6f} / {hf.CLs_obs:.6f}, "
        f"|d| {nums['abs_diff_CLs_obs']:.1e} (band {nums['max_abs_diff_CLs_exp']:.1e})"
    )
    return check + ("" if hf.valid else ", hifit NOT valid"), nums


# ---------------------------------------------------------------- 2. grid


def bench_grid(ctx: Ctx) -> Outcome:
    out = Outcome()
    spec, doc = load_json(LBB_POINT.bkg), load_json(LBB_POINT.patch)
    names = [p["metadata"]["name"] for p in doc["patches"]]
    points = None
    if ctx.hifit is not None:
        points = time_hifit(
            ctx, out, lambda jobs: hifit_grid(ctx.hifit, spec, doc, jobs)
        )
    sample = spread(names, ctx.args.pyhf_grid_sample)
    py = pyhf_grid_sample(ctx, out, spec, doc, sample, len(names))
    out.check, out.numbers = compare_grid(points, py)
    out.numbers["pyhf_sample"] = sample
    return out


def hifit_grid(hifit: Any, spec: dict, doc: dict, jobs: int) -> list:
    # Reading the parsed dicts is charged to hifit, as pyhf.Workspace(spec) is to pyhf.
    ws, patchset = hifit.Workspace(spec), hifit.PatchSet(doc)
    return hifit.infer.grid(ws, patchset, mu=1.0, jobs=jobs)


def pyhf_grid_sample(
    ctx: Ctx, out: Outcome, spec: dict, doc: dict, sample: list[str], total: int
) -> dict[str, Any]:
    """Patch + build + hypotest for each sampled patch; extrapolate to `total`."""
    if ctx.pyhf is None or not sample:
        out.pyhf_note = "not run"
        return {}
    pyhf = ctx.pyhf
    setup, ws = time_calls(lambda: pyhf.Workspace(spec), ONCE)
    out.steps["pyhf Workspace(bkg)"] = setup
    results, per_point = {}, []
    for name in sample:

        def one(name=name):
            model, data = pyhf_patched(pyhf, ws, patchset_ops(doc, name))
            return pyhf.infer.hypotest(1.0, data, model, return_expected_set=True)

        timing, res = time_calls(one, ONCE)
        out.steps[f"pyhf {name}"] = timing
        if timing.ok:
            results[name], per_point = res, per_point + timing.wall_s
    if per_point:
        out.pyhf_s = setup.median + statistics.mean(per_point) * total
        out.extrapolated = len(per_point) < total
        out.pyhf_note = (
            f"extrapolated: {len(per_point)} of {total} patches measured"
            if out.extrapolated
            else f"all {total} patches measured"
        )
    return results


def compare_grid(points: list | None, py: dict[str, Any]) -> tuple[str, dict]:
    nums: dict[str, Any] = {}
    if points is not None:
        nums["hifit_valid"] = sum(p.valid for p in points)
        nums["hifit_points"] = len(points)
        nums["hifit"] = {p.patch: p.CLs_obs for p in points}
    nums["pyhf"] = {k: float(v[0]) for k, v in py.items()}
    if points is None or not py:
        return "n/a", nums
    by_name = {p.patch: p for p in points}
    diffs = [abs(by_name[k].CLs_obs - float(v[0])) for k, v in py.items()]
    nums["max_abs_diff_CLs_obs"] = max(diffs)
    check = (
        f"max |dCLs_obs| {max(diffs):.1e} on {plural(len(diffs), 'patch')}; "
        f"hifit {nums['hifit_valid']}/{len(points)} valid"
    )
    return check, nums


# ------------------------------------------------------------- 3. ranking


def bench_ranking(ctx: Ctx, point: Point) -> Outcome:
    out = Outcome()
    hf = None
    if ctx.hifit is not None:
        model, data = hifit_model(ctx.hifit, point)
        hf = time_hifit(
            ctx, out, lambda jobs: ctx.hifit.infer.ranking(data, model, jobs=jobs)
        )
    py = pyhf_ranking_sample(ctx, out, point, hf)
    out.check, out.numbers = compare_ranking(hf, py)
    if ctx.pyhf is not None:
        bench_cabinetry(ctx, out, point, hf)
    return out


def cabinetry_prefit_widths(model: Any) -> list[float]:
    """cabinetry's pre-fit σ: constraint width, 0 for free-floating or fixed pars."""
    widths: list[float] = []
    for name in model.config.par_order:
        ps = model.config.param_set(name)
        if getattr(ps, "constrained", False) and not ps.suggested_fixed_as_bool:
            widths += list(ps.width())
        else:
            widths += [0.0] * ps.n_parameters
    return widths


def pyhf_ranking_sample(
    ctx: Ctx, out: Outcome, point: Point, hf: Any
) -> dict[str, dict[str, Any]]:
    """cabinetry's ranking with pyhf, on a sample of parameters; extrapolated."""
    if ctx.pyhf is None:
        out.pyhf_note = "not run"
        return {}
    pyhf = ctx.pyhf
    model, data = pyhf_model(pyhf, point)
    setup = pyhf_ranking_setup(pyhf, out, model, data)
    if setup is None:
        return {}
    setup_s, bestfit, sigma_post = setup
    names = model.config.par_names
    fixed = model.config.suggested_fixed()
    rankable = [
        n for i, n in enumerate(names) if i != model.config.poi_index and not fixed[i]
    ]
    # Sample evenly over hifit's ranking so large and small impacts are both
    # compared; model order if hifit is missing.
    order = [n for n in hf.labels if n in rankable] if hf is not None else rankable
    sample = spread(order, ctx.args.pyhf_ranking_sample)
    out.numbers["pyhf_sample"] = sample
    sigma_pre = cabinetry_prefit_widths(model)
    results, per_par = {}, []
    for name in sample:
        i = names.index(name)
        shifts = (sigma_pre[i], -sigma_pre[i], sigma_post[i], -sigma_post[i])
        step, res = time_calls(
            lambda i=i, s=shifts: pyhf_impacts(pyhf, model, data, bestfit, i, s), ONCE
        )
        out.steps[f"pyhf 4 fits {name}"] = step
        if step.ok:
            results[name] = {"impacts": res, "sigma_post": float(sigma_post[i])}
            per_par += step.wall_s
    if per_par:
        out.pyhf_s = setup_s + statistics.mean(per_par) * len(rankable)
        out.extrapolated = len(per_par) < len(rankable)
        what = f"{len(per_par)} of {len(rankable)} parameters measured"
        out.pyhf_note = ("extrapolated: " if out.extrapolated else "") + what
    return results


def pyhf_ranking_setup(
    pyhf: Any, out: Outcome, model: Any, data: Any
) -> tuple[float, list[float], list[float]] | None:
    """Time of the nominal fits, θ̂ (SLSQP) and σ_post (MIGRAD + HESSE).

    σ_post comes from Minuit, as in cabinetry. θ̂ and the reference μ̂ come from an
    SLSQP fit: Minuit's minimum can sit ~1e-4 in -2 ln L above the SLSQP one (on
    RegionC its μ̂ is 0.012 lower), and that offset would be added to every impact
    of the SLSQP refits.
    """
    pyhf_set_optimizer(pyhf, "minuit")
    try:
        minuit, res = time_calls(
            lambda: pyhf.infer.mle.fit(data, model, return_uncertainties=True), ONCE
        )
    finally:
        pyhf_set_optimizer(pyhf, "scipy")
    out.steps["pyhf Minuit fit (+HESSE), sigma_post"] = minuit
    slsqp, bestfit = time_calls(lambda: pyhf.infer.mle.fit(data, model), ONCE)
    out.steps["pyhf SLSQP fit, best fit"] = slsqp
    if not (minuit.ok and slsqp.ok):
        out.pyhf_note = f"failed: {minuit.error or slsqp.error}"
        return None
    sigma_post = [float(x) for x in res[:, 1]]
    return minuit.median + slsqp.median, [float(x) for x in bestfit], sigma_post


def pyhf_impacts(
    pyhf: Any,
    model: Any,
    data: Any,
    bestfit: list[float],
    i: int,
    shifts: Sequence[float],
) -> list[float]:
    """POI shifts with par i fixed at θ̂ + each shift (SLSQP refits).

    Like hifit, the refits start from the best fit (cabinetry starts from the
    model's initial values, which costs pyhf more iterations), and a zero shift
    is an impact of 0 without a fit.
    """
    poi = model.config.poi_index
    fixed = list(model.config.suggested_fixed())
    fixed[i] = True
    impacts = []
    for shift in shifts:
        if shift == 0.0:
            impacts.append(0.0)
            continue
        init = list(bestfit)
        init[i] += float(shift)
        pars = pyhf.infer.mle.fit(data, model, init_pars=init, fixed_params=fixed)
        impacts.append(float(pars[poi]) - bestfit[poi])
    return impacts


RANKING_KEYS = ("prefit_up", "prefit_down", "postfit_up", "postfit_down")


def compare_ranking(hf: Any, py: dict[str, dict[str, Any]]) -> tuple[str, dict]:
    nums: dict[str, Any] = {"pyhf": py}
    if hf is not None:
        nums.update(hifit_valid=hf.valid, hifit_failed_fits=hf.failed_fits)
        nums["hifit_parameters"] = len(hf.labels)
    if hf is None or not py:
        return "n/a", nums
    row = {n: i for i, n in enumerate(hf.labels)}
    hifit_vals = {
        n: {
            "impacts": [float(getattr(hf, k)[row[n]]) for k in RANKING_KEYS],
            "sigma_post": float(hf.uncertainty[row[n]]),
        }
        for n in py
    }
    nums["hifit"] = hifit_vals

    def worst(part: slice) -> float:
        return max(
            max_abs_diff(hifit_vals[n]["impacts"][part], v["impacts"][part])
            for n, v in py.items()
        )

    # Post-fit impacts also inherit any σ_post difference (pyhf's HESSE vs hifit's),
    # so the pre-fit ones are the cleaner check of the refits themselves.
    nums["max_abs_diff_prefit_impact"] = worst(slice(0, 2))
    nums["max_abs_diff_postfit_impact"] = worst(slice(2, 4))
    nums["max_rel_diff_sigma_post"] = max(
        abs(hifit_vals[n]["sigma_post"] / v["sigma_post"] - 1) for n, v in py.items()
    )
    nums["max_abs_impact"] = max(
        abs(x) for v in hifit_vals.values() for x in v["impacts"]
    )
    check = (
        f"|d impact| prefit {nums['max_abs_diff_prefit_impact']:.1e}, postfit "
        f"{nums['max_abs_diff_postfit_impact']:.1e} (impacts up to "
        f"{nums['max_abs_impact']:.2g}; sigma_post rel d "
        f"{nums['max_rel_diff_sigma_post']:.1e}) on {plural(len(py), 'NP')}"
    )
    return check + ("" if hf.valid else ", hifit NOT valid"), nums


def bench_cabinetry(ctx: Ctx, out: Outcome, point: Point, hf: Any) -> None:
    """cabinetry's own full ranking (Minuit), timed once if installed and --slow."""
    try:
        import cabinetry
    except ImportError:
        return
    if not ctx.args.slow:
        # All 4 x 65 refits with Minuit took ~5 min here: too slow for a default run.
        out.notes.append("cabinetry is installed; its full ranking runs with --slow")
        return
    model, data = pyhf_model(ctx.pyhf, point)
    timing, res = time_calls(lambda: cabinetry.fit.ranking(model, data), ONCE)
    out.steps["cabinetry.fit.ranking (full)"] = timing
    if not (timing.ok and hf is not None):
        return
    row = {n: i for i, n in enumerate(hf.labels)}
    diffs = [
        abs(float(getattr(res, k)[j]) - float(getattr(hf, k)[row[n]]))
        for j, n in enumerate(res.labels)
        if n in row
        for k in RANKING_KEYS
    ]
    out.numbers["cabinetry_max_abs_diff_impact"] = max(diffs, default=None)
    out.notes.append(
        f"cabinetry full ranking {fmt_time(timing.median)}, "
        f"max |d impact| vs hifit {max(diffs, default=float('nan')):.1e}"
    )


# ---------------------------------------------------------------- 4. scan


def bench_scan(ctx: Ctx, point: Point) -> Outcome:
    out = Outcome()
    hf = None
    if ctx.hifit is not None:
        model, data = hifit_model(ctx.hifit, point)
        poi = model.config.poi_name
        hf = time_hifit(
            ctx,
            out,
            lambda jobs: ctx.hifit.infer.scan(data, model, poi, SCAN_VALUES, jobs=jobs),
        )
    py = pyhf_scan_sample(ctx, out, point)
    out.check, out.numbers = compare_scan(hf, py)
    return out


def pyhf_scan_sample(ctx: Ctx, out: Outcome, point: Point) -> dict[float, float]:
    """Global fit + fixed_poi_fit at sampled scan points; extrapolated to all 21."""
    if ctx.pyhf is None:
        out.pyhf_note = "not run"
        return {}
    mle = ctx.pyhf.infer.mle
    model, data = pyhf_model(ctx.pyhf, point)
    # The global fit gives the minimum that -2 Δln L is measured from, as in hifit.
    glob, res = time_calls(lambda: mle.fit(data, model, return_fitted_val=True), ONCE)
    out.steps["pyhf global fit"] = glob
    if not glob.ok:
        out.pyhf_note = f"failed: {glob.error}"
        return {}
    twice_nll = {"min": float(res[1])}
    per_point = []
    for mu in spread(SCAN_VALUES, ctx.args.pyhf_scan_sample):
        step, r = time_calls(
            lambda m=mu: mle.fixed_poi_fit(m, data, model, return_fitted_val=True),
            ONCE,
        )
        out.steps[f"pyhf fixed_poi_fit mu={mu:g}"] = step
        if step.ok:
            twice_nll[mu], per_point = float(r[1]), per_point + step.wall_s
    if per_point:
        out.pyhf_s = glob.median + statistics.mean(per_point) * len(SCAN_VALUES)
        out.extrapolated = len(per_point) < len(SCAN_VALUES)
        what = f"{len(per_point)} of {len(SCAN_VALUES)} points measured"
        out.pyhf_note = ("extrapolated: " if out.extrapolated else "") + what
    return twice_nll


def compare_scan(hf: Any, py: dict) -> tuple[str, dict]:
    nums: dict[str, Any] = {"pyhf_twice_nll": {str(k): v for k, v in py.items()}}
    if hf is not None:
        nums["hifit_delta_twice_nll"] = hf.delta_twice_nll.tolist()
        nums["hifit_valid"] = int(hf.valid.sum())
    mus = [k for k in py if k != "min"]
    if hf is None or not mus:
        return "n/a", nums
    at = {v: i for i, v in enumerate(SCAN_VALUES)}
    # The shape of the curve (what a scan is for) and the raw -2 ln L values.
    d_delta = [abs(float(hf.delta_twice_nll[at[m]]) - (py[m] - py["min"])) for m in mus]
    d_raw = [abs(float(hf.twice_nll[at[m]]) - py[m]) for m in mus]
    nums.update(max_abs_diff_delta=max(d_delta), max_abs_diff_twice_nll=max(d_raw))
    check = (
        f"max |d(-2dlnL)| {max(d_delta):.1e}, |d(-2lnL)| {max(d_raw):.1e} "
        f"on {plural(len(mus), 'point')}; "
        f"hifit {nums['hifit_valid']}/{len(SCAN_VALUES)} valid"
    )
    return check, nums


# --------------------------------------------------------- 5. upper limit


def bench_upper_limit(ctx: Ctx, point: Point) -> Outcome:
    out = Outcome(parallel=False)
    hf = None
    if ctx.hifit is not None:
        model, data = hifit_model(ctx.hifit, point)
        hf = time_hifit(ctx, out, lambda _: ctx.hifit.infer.upper_limit(data, model))
    py = None
    if ctx.pyhf is None:
        out.pyhf_note = "not run"
    elif not ctx.args.slow:
        out.pyhf_note = "skipped (~100 s; pass --slow to run it)"
    else:
        model, data = pyhf_model(ctx.pyhf, point)
        ul = ctx.pyhf.infer.intervals.upper_limits.upper_limit
        timing, py = time_calls(lambda: ul(data, model, level=0.05), ctx.pol["pyhf"])
        out.steps["pyhf toms748"] = timing
        record_pyhf(out, timing, f"median of {len(timing.wall_s)}")
    out.check, out.numbers = compare_limits(hf, py)
    return out


def compare_limits(hf: Any, py: Any) -> tuple[str, dict]:
    nums: dict[str, Any] = {}
    if hf is not None:
        nums.update(hifit_observed=hf.observed, hifit_expected=hf.expected)
        nums["hifit_valid"] = hf.valid
    if hf is None:
        return "n/a", nums
    if py is None:
        # pyhf's stored limit (same data, older pyhf) keeps a correctness number.
        ref_obs, ref_exp = SB_A_PYHF_LIMIT
        nums.update(reference_observed=ref_obs, reference_expected=ref_exp)
        nums["abs_diff_observed"] = abs(hf.observed - ref_obs)
        nums["max_abs_diff_expected"] = max_abs_diff(hf.expected, ref_exp)
        check = (
            f"obs hifit {hf.observed:.4f}, stored pyhf ref {ref_obs:.4f}, |d| "
            f"{nums['abs_diff_observed']:.1e} (exp {nums['max_abs_diff_expected']:.1e})"
        )
        return check + ("" if hf.valid else ", hifit NOT valid"), nums
    obs, exp = float(py[0]), [float(x) for x in py[1]]
    nums.update(pyhf_observed=obs, pyhf_expected=exp)
    nums["abs_diff_observed"] = abs(hf.observed - obs)
    nums["max_abs_diff_expected"] = max_abs_diff(hf.expected, exp)
    check = (
        f"obs {obs:.4f} / {hf.observed:.4f}, |d| {nums['abs_diff_observed']:.1e} "
        f"(exp {nums['max_abs_diff_expected']:.1e})"
    )
    return check + ("" if hf.valid else ", hifit NOT valid"), nums


# ------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Bench:
    name: str
    what: str
    run: Callable[[Ctx], Outcome]


BENCHES = (
    Bench(
        "hypotest-1lbb",
        "hypotest mu=1 qtilde, 1Lbb C1N2_Wh_hbb_700_400",
        lambda ctx: bench_hypotest(ctx, LBB_POINT),
    ),
    Bench(
        "hypotest-sbottomA",
        "hypotest mu=1 qtilde, sbottom RegionA 1300_205_60",
        lambda ctx: bench_hypotest(ctx, SB_A),
    ),
    Bench("grid-1lbb", "1Lbb signal grid, 125 patches, mu=1", bench_grid),
    Bench(
        "ranking-sbottomC",
        "ranking of all NPs, sbottom RegionC 1600_850_60",
        lambda ctx: bench_ranking(ctx, SB_C),
    ),
    Bench(
        "scan-1lbb",
        "profile scan of mu_SIG, 21 points in [0, 2], 1Lbb 700_400",
        lambda ctx: bench_scan(ctx, LBB_POINT),
    ),
    Bench(
        "upperlimit-sbottomA",
        "CLs upper limit (95%), sbottom RegionA 1300_205_60",
        lambda ctx: bench_upper_limit(ctx, SB_A),
    ),
)


def select(names: list[str] | None) -> list[Bench]:
    """Exact names win; otherwise NAME selects every workload whose name has it."""
    if not names:
        return list(BENCHES)
    chosen: list[Bench] = []
    for name in names:
        key = name.lower()
        exact = [b for b in BENCHES if b.name.lower() == key]
        matched = exact or [b for b in BENCHES if key in b.name.lower()]
        if not matched:
            valid = ", ".join(b.name for b in BENCHES)
            raise SystemExit(f"--only {name}: no such workload (have: {valid})")
        chosen += [b for b in matched if b not in chosen]
    return chosen


# ------------------------------------------------------------------ reporting


def fmt_pyhf(out: Outcome) -> str:
    if out.pyhf_s is None:
        return "skipped" if out.pyhf_note.startswith("skipped") else "n/a"
    return ("~" if out.extrapolated else "") + fmt_time(out.pyhf_s)


def fmt_ratio(out: Outcome, jobs: int) -> str:
    r = out.ratio(jobs)
    return "n/a" if r is None else ("~" if out.extrapolated else "") + f"{r:.0f}x"


def table(selected: list[Bench], outs: dict[str, Outcome], jobs: int) -> None:
    # With --jobs 1 there is no second hifit column.
    job_cols = [1] if jobs == 1 else [1, jobs]
    header = ["workload", "pyhf"]
    header += [f"hifit jobs={j}" for j in job_cols]
    header += [f"ratio jobs={j}" for j in job_cols]
    header.append("pyhf / hifit check")
    rows = []
    for b in selected:
        o = outs[b.name]
        # "-": hypotest and upper_limit take no jobs, so only the jobs=1 cell is set.
        cols = [j if o.parallel or j == 1 else None for j in job_cols]
        rows.append(
            [b.name, fmt_pyhf(o)]
            + ["-" if j is None else fmt_step(o.hifit.get(j)) for j in cols]
            + ["-" if j is None else fmt_ratio(o, j) for j in cols]
            + [o.check]
        )
    print_table(header, rows)
    print("~ = pyhf time extrapolated from a measured sample (see details)")


def details(b: Bench, o: Outcome) -> None:
    print(f"\n[{b.name}] {b.what}")
    total = o.pyhf_note if o.pyhf_s is None else f"{fmt_pyhf(o)} ({o.pyhf_note})"
    print(f"  pyhf total: {total or 'n/a'}")
    width = max((len(name) for name in o.steps), default=0)
    for name, t in o.steps.items():
        line = f"  {name:{width}} {fmt_step(t):>10}  n={len(t.wall_s)}"
        if t.cpu_per_wall is not None:
            line += f"  cpu/wall={t.cpu_per_wall:.2f}"
        if t.other_cores is not None:
            busy = " (busy machine)" if t.other_cores > BUSY_CORES else ""
            line += f"  others={t.other_cores:.2f} cores{busy}"
        if t.error:
            line += f"\n        failed: {t.error}"
        print(line)
    for key, value in o.numbers.items():
        if key != "pyhf_sample" and (shown := fmt_number(value)) is not None:
            print(f"  {key} = {shown}")
    if "pyhf_sample" in o.numbers:
        print(f"  pyhf sample: {', '.join(map(str, o.numbers['pyhf_sample']))}")
    for note in o.notes:
        print(f"  {note}")


def fmt_number(value: Any) -> str | None:
    """Scalars and number lists; per-patch or per-parameter dicts go to JSON only."""
    if isinstance(value, bool | int | str):
        return str(value)
    if isinstance(value, float):
        return f"{value:.7g}"
    if isinstance(value, list) and all(isinstance(x, float) for x in value):
        return "[" + ", ".join(f"{x:.7g}" for x in value) + "]"
    return None


def targets(outs: dict[str, Outcome], jobs: int) -> None:
    if "hypotest-1lbb" not in outs and "grid-1lbb" not in outs:
        return
    print("\nIssue targets (not asserted)")
    if "hypotest-1lbb" in outs:
        r = outs["hypotest-1lbb"].ratio(1)
        verdict = "n/a" if r is None else ("met" if r >= HYPOTEST_TARGET else "NOT met")
        shown = "n/a" if r is None else f"{r:.0f}x"
        print(f"  hypotest-1lbb >= {HYPOTEST_TARGET:.0f}x: {shown}  {verdict}")
    if "grid-1lbb" in outs:
        t = outs["grid-1lbb"].hifit.get(jobs)
        s = t.median if t is not None and t.ok else None
        verdict = "n/a" if s is None else ("met" if s < GRID_TARGET_S else "NOT met")
        print(
            f"  grid-1lbb jobs={jobs} < {GRID_TARGET_S:.0f} s: {fmt_time(s)}  {verdict}"
        )


# ----------------------------------------------------------------------- main


def policies(quick: bool) -> dict[str, Policy]:
    # A hifit grid takes seconds: at least 3 repeats (quick: 1), not bench_fit's 20.
    if quick:
        return {"pyhf": ONCE, "hifit": policy(1, 20, 0.5)}
    return {"pyhf": policy(3, 3, 0.0), "hifit": policy(3, 200, 3.0)}


def warm_up(ctx: Ctx) -> None:
    """Import lazily loaded modules (schemas, scipy, iminuit) before timing starts."""
    if ctx.pyhf is not None:
        model, data = pyhf_model(ctx.pyhf, WARMUP)
        ctx.pyhf.infer.hypotest(1.0, data, model, return_expected_set=True)
        pyhf_set_optimizer(ctx.pyhf, "minuit")
        ctx.pyhf.infer.mle.fit(data, model, return_uncertainties=True)
        pyhf_set_optimizer(ctx.pyhf, "scipy")
    if ctx.hifit is not None:
        model, data = hifit_model(ctx.hifit, WARMUP)
        ctx.hifit.infer.hypotest(1.0, data, model)


def others_now(seconds: float = 0.5) -> float | None:
    """Cores other processes use right now (this one sleeps meanwhile)."""
    busy0 = system_busy_s()
    time.sleep(seconds)
    busy1 = system_busy_s()
    return None if busy0 is None or busy1 is None else (busy1 - busy0) / seconds


def print_header(versions: dict[str, str], args: argparse.Namespace) -> None:
    import numpy

    print("hifit vs pyhf inference benchmark")
    print(f"  python {platform.python_version()}, numpy {numpy.__version__}")
    for name in ("pyhf", "hifit"):
        print(f"  {name}: {versions[name]}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"  cpu: {cpu_name()} ({os.cpu_count()} logical cores; load avg {load})")
    busy = others_now()
    if busy is not None and busy > BUSY_CORES:
        # They take cores from hifit's jobs=N threads first, and slow every step
        # once they need more than the core this script leaves idle.
        print(
            f"  WARNING: other processes are using {busy:.1f} cores; jobs>1 "
            "speed-ups and absolute times are not reliable in this run"
        )
    print(
        "  " + ", ".join(f"{v}=1" for v in THREAD_VARS) + " (pyhf single-threaded); "
        f"hifit jobs=1 and jobs={args.jobs} use their own threads"
    )
    print("  pyhf: numpy backend, default SciPy optimizer unless stated")
    print(f"  data: {os.path.relpath(DATA, ROOT)} (relative to the repo root)")
    print(
        f"  mode: {'quick' if args.quick else 'full'}{', slow' if args.slow else ''}; "
        "times are medians of repeats"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    p.add_argument("--json", metavar="OUT", type=Path, help="write numbers as JSON")
    p.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this workload (repeatable; substring match): "
        + ", ".join(b.name for b in BENCHES),
    )
    p.add_argument("--jobs", type=int, default=2, help="hifit threads besides 1")
    p.add_argument("--slow", action="store_true", help="also run pyhf's upper limit")
    for what, default in (("grid", 3), ("ranking", 5), ("scan", 5)):
        p.add_argument(
            f"--pyhf-{what}-sample",
            metavar="K",
            type=int,
            default=default,
            help=f"pyhf {what}: measure K items and extrapolate (default {default})",
        )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    selected = select(args.only)
    if not DATA.is_dir():
        raise SystemExit(f"data directory not found: {DATA}")
    t_start, cpu_start, busy_start = (
        time.perf_counter(),
        time.process_time(),
        system_busy_s(),
    )
    tools, versions = {}, {}
    for name in ("pyhf", "hifit"):
        tools[name], versions[name] = import_tool(name)
    print_header(versions, args)
    ctx = Ctx(tools["pyhf"], tools["hifit"], args, policies(args.quick))
    if ctx.pyhf is not None:
        pyhf_set_optimizer(ctx.pyhf, "scipy")
    warm_up(ctx)

    outs: dict[str, Outcome] = {}
    for b in selected:
        print(f"running {b.name} ...", file=sys.stderr, flush=True)
        outs[b.name] = b.run(ctx)

    print()
    table(selected, outs, max(1, args.jobs))
    for b in selected:
        details(b, outs[b.name])
    targets(outs, max(1, args.jobs))
    total = time.perf_counter() - t_start
    print(f"\ntotal runtime {fmt_time(total)}", end="")
    busy_end = system_busy_s()
    if busy_start is not None and busy_end is not None:
        ours = time.process_time() - cpu_start
        others = max(0.0, busy_end - busy_start - ours) / total
        print(f"; other processes used {others:.2f} cores on average meanwhile")
        if others > BUSY_CORES:
            print(
                "WARNING: the machine was shared during this run; see others= in "
                "the details before trusting jobs>1 speed-ups or absolute times"
            )
    else:
        print()
    if args.json:
        write_json(args.json, selected, outs, versions, args, total)
    return 0


def write_json(out: Path, selected, outs, versions, args, total: float) -> None:
    def encode(obj):
        if isinstance(obj, Timing):
            return obj.to_json(omit=FIT_FIELDS)
        if hasattr(obj, "tolist"):  # numpy arrays and scalars
            return obj.tolist()
        raise TypeError(f"cannot encode {type(obj).__name__}")

    doc = {
        "versions": versions,
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "threads": {v: os.environ[v] for v in THREAD_VARS},
        "args": {
            k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
        },
        "total_runtime_s": total,
        "workloads": {
            b.name: {"what": b.what, **outs[b.name].to_json()} for b in selected
        },
    }
    out.write_text(json.dumps(doc, indent=2, default=encode) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())
