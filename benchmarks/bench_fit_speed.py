"""Single-fit speed of two hifit builds, interleaved in one run (issue 17 item 1).

Times, for 1Lbb + C1N2_Wh_hbb_1000_0 and the three sbottom regions, the model build
(patch application + workspace -> Model compile), one maximum-likelihood fit
(`hifit.infer.mle.fit`) and single evaluations of -2 ln L (value; value + gradient;
value + gradient + exact Hessian), each as the minimum over repeats, and prints
iterations and evaluations per fit and the time per evaluation against the
arithmetic estimate (cells x parameters). Two builds run in alternating worker
processes so that the load of a shared machine hits both alike:

    .venv/bin/python benchmarks/bench_fit_speed.py [--rounds 5] [--repeats 20]
        [--base main] [--core-dir build/dev]

`--base main` is the reference install of the venv (no PYTHONPATH); the other side
is this checkout's `src/` with the core module of `--core-dir`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "pyhf"
LBB = DATA / "atlas-1Lbb-ins1755298"
SBOTTOM = DATA / "atlas-sbottom-ins1748602"
WORKLOADS = {
    "1lbb": (LBB / "BkgOnly.json", LBB / "patchset.json", "C1N2_Wh_hbb_1000_0"),
    "sbottom-A": (
        SBOTTOM / "RegionA/BkgOnly.json",
        SBOTTOM / "RegionA/patch.sbottom_1300_205_60.json",
        None,
    ),
    "sbottom-B": (
        SBOTTOM / "RegionB/BkgOnly.json",
        SBOTTOM / "RegionB/patch.sbottom_1400_550_60.json",
        None,
    ),
    "sbottom-C": (
        SBOTTOM / "RegionC/BkgOnly.json",
        SBOTTOM / "RegionC/patch.sbottom_1600_850_60.json",
        None,
    ),
}


# ------------------------------------------------------------------ worker side


def _best(fn, repeats: int) -> tuple[float, object]:
    """Minimum CPU time of `repeats` calls (the fits are single-threaded), and the
    last return value."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def _cells(spec: dict) -> int:
    return sum(
        len(sample["data"]) for ch in spec["channels"] for sample in ch["samples"]
    )


def worker(repeats: int) -> dict:
    import hifit
    from hifit import infer

    out = {}
    for name, (bkg_path, patch_path, patch_name) in WORKLOADS.items():
        bkg = hifit.Workspace.load(bkg_path)
        if patch_name is not None:
            patches = hifit.PatchSet.load(patch_path)

            def build(bkg=bkg, patches=patches, patch_name=patch_name):
                ws = patches.apply(bkg, patch_name)
                return ws, ws.model()

        else:
            ops = patch_path.read_text()

            def build(bkg=bkg, ops=ops):
                ws = bkg.apply_patch(ops)
                return ws, ws.model()

        t_build, (ws, model) = _best(build, repeats)
        data = ws.data(model)
        t_fit, res = _best(lambda m=model, d=data: infer.mle.fit(d, m), repeats)
        lh = model.likelihood(data)
        x = res.bestfit
        evals = 10 * repeats
        t_value, _ = _best(lambda lh=lh, x=x: lh.twice_nll(x), evals)
        t_grad, _ = _best(lambda lh=lh, x=x: lh.twice_nll_grad(x), evals)
        t_hess, _ = _best(lambda lh=lh, x=x: lh.twice_nll_grad_hess(x), evals)
        out[name] = {
            "build": t_build,
            "fit": t_fit,
            "iterations": res.iterations,
            "evaluations": res.evaluations,
            "twice_nll": res.twice_nll,
            "valid": res.valid,
            "value": t_value,
            "grad": t_grad,
            "hess": t_hess,
            "npars": len(x),
            "cells": _cells(ws.spec()),
        }
    return out


# ------------------------------------------------------------------ driver side


def _env(side: str, core_dir: Path) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env.pop("PYTHONPATH", None)
    env.pop("HIFIT_CORE_DIR", None)
    if side == "new":
        env["PYTHONPATH"] = str(ROOT / "src")
        env["HIFIT_CORE_DIR"] = str(core_dir)
    return env


def _merge(best: dict, run: dict) -> None:
    for name, row in run.items():
        if name not in best:
            best[name] = dict(row)
            continue
        for key in ("build", "fit", "value", "grad", "hess"):
            best[name][key] = min(best[name][key], row[key])


def _ms(s: float) -> str:
    return f"{s * 1e3:7.2f} ms"


def _us(s: float) -> str:
    return f"{s * 1e6:6.1f} us"


def report(results: dict[str, dict]) -> None:
    for name in WORKLOADS:
        print(f"\n{name}:")
        base = results["base"][name]
        for side in ("base", "new"):
            r = results[side][name]
            per_cell = r["grad"] / (r["cells"] * r["npars"]) * 1e9
            print(
                f"  {side:4s} build {_ms(r['build'])}  fit {_ms(r['fit'])}  "
                f"it {r['iterations']:3d} ev {r['evaluations']:3d}  "
                f"value {_us(r['value'])} +grad {_us(r['grad'])} "
                f"+hess {_us(r['hess'])}  "
                f"({r['cells']} cells x {r['npars']} pars: value+grad "
                f"{per_cell:.2f} ns per cell x par)  "
                f"2lnL {r['twice_nll']:.10f} valid {r['valid']}"
            )
        new = results["new"][name]
        print(
            f"  speed-up: fit x{base['fit'] / new['fit']:.2f}, "
            f"build x{base['build'] / new['build']:.2f}, "
            f"build + fit {_ms(base['build'] + base['fit'])} -> "
            f"{_ms(new['build'] + new['fit'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--core-dir", type=Path, default=ROOT / "build" / "dev")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        json.dump(worker(args.repeats), sys.stdout)
        return
    results: dict[str, dict] = {"base": {}, "new": {}}
    for _ in range(args.rounds):
        for side in ("base", "new"):
            cmd = [sys.executable, __file__, "--worker", "--repeats", str(args.repeats)]
            run = subprocess.run(
                cmd,
                env=_env(side, args.core_dir.resolve()),
                capture_output=True,
                text=True,
                check=True,
            )
            _merge(results[side], json.loads(run.stdout))
    print(
        f"min over {args.rounds} rounds x {args.repeats} repeats (CPU time); "
        f"base: the venv's installed hifit, new: {ROOT / 'src'} with "
        f"{args.core_dir}"
    )
    report(results)


if __name__ == "__main__":
    main()
