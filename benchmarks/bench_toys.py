"""Toy throughput on ATLAS 1Lbb (C1N2_Wh_hbb_1000_0, 126 parameters, 14 bins), jobs=1.

Compares two hifit builds, interleaved in the same run, and pyhf's ToyCalculator on
a few toys. Each measurement is a child process; the time is the child's CPU time
of the toy calculation alone (model building and imports excluded), so the
comparison does not depend on how busy the shared machine is.

    .venv/bin/python benchmarks/bench_toys.py [--ntoys 25] [--repeats 3]
        [--old-src DIR] [--old-core DIR] [--new-src DIR] [--new-core DIR]
        [--pyhf-toys 2]

`old`: the installed hifit package unless --old-src/--old-core are given; `new`:
this checkout (src/ with the core module in build/dev). A toy here is one
pseudo-experiment (signal+background or background-only) and its test statistic,
pyhf's counting: 2 ntoys per call. The toy fits per toy are 2 in pyhf (the free and
the conditional fit); hifit's reference path runs more (several starts,
continuation), its fast path fewer (the conditional fit is skipped where q~_mu does
not need it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _timing import THREAD_VARS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "pyhf" / "atlas-1Lbb-ins1755298"
PATCH = "C1N2_Wh_hbb_1000_0"
MU = 1.0

CHILD_HIFIT = """
import json, sys, time
import numpy as np
import hifit
d = sys.argv[1]
ws = hifit.PatchSet.load(d + "/patchset.json").apply(
    hifit.Workspace.load(d + "/BkgOnly.json"), sys.argv[2])
model = ws.model()
data = np.asarray(ws.data(model), dtype=float)
ntoys, seed = int(sys.argv[3]), int(sys.argv[4])
t = time.process_time()
r = hifit.infer.toys.hypotest(float(sys.argv[5]), data, model, ntoys=ntoys,
                              seed=seed, jobs=1)
cpu = time.process_time() - t
print(json.dumps({"cpu_s": cpu, "cls": r.CLs_obs, "failed": r.failed_toys,
                  "q_sb": sorted(map(float, r.q_sb)),
                  "q_b": sorted(map(float, r.q_b))}))
"""

CHILD_PYHF = """
import json, sys, time
import jsonpatch, numpy as np, pyhf
# pyhf 0.7.6 calls numpy.percentile(interpolation=...), removed in numpy 2
_percentile = np.percentile
def percentile(a, q, *args, interpolation=None, **kw):
    if interpolation is not None:
        kw["method"] = interpolation
    return _percentile(a, q, *args, **kw)
np.percentile = percentile
d = sys.argv[1]
spec = json.load(open(d + "/BkgOnly.json"))
ps = json.load(open(d + "/patchset.json"))
ops = next(p["patch"] for p in ps["patches"] if p["metadata"]["name"] == sys.argv[2])
ws = pyhf.Workspace(jsonpatch.JsonPatch(ops).apply(spec))
model = ws.model()
data = ws.data(model)
ntoys = int(sys.argv[3])
np.random.seed(int(sys.argv[4]))
t = time.process_time()
r = pyhf.infer.hypotest(float(sys.argv[5]), data, model, test_stat="qtilde",
                        calctype="toybased", ntoys=ntoys, track_progress=False)
cpu = time.process_time() - t
print(json.dumps({"cpu_s": cpu, "cls": float(r)}))
"""


def run_child(code: str, env_extra: dict[str, str], ntoys: int, seed: int) -> dict:
    env = {**os.environ, **env_extra, **{v: "1" for v in THREAD_VARS}}
    out = subprocess.run(
        [sys.executable, "-c", code, str(DATA), PATCH, str(ntoys), str(seed), str(MU)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def variant_env(src: str | None, core: str | None) -> dict[str, str]:
    env: dict[str, str] = {}
    if src:
        env["PYTHONPATH"] = src
    if core:
        env["HIFIT_CORE_DIR"] = core
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ntoys", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=1, help="different seeds per repeat")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--old-src", default=None)
    ap.add_argument("--old-core", default=None)
    ap.add_argument("--new-src", default=str(ROOT / "src"))
    ap.add_argument("--new-core", default=str(ROOT / "build" / "dev"))
    ap.add_argument("--pyhf-toys", type=int, default=2, help="0: skip pyhf")
    args = ap.parse_args()

    variants = {
        "hifit old": variant_env(args.old_src, args.old_core),
        "hifit new": variant_env(args.new_src, args.new_core),
    }
    best: dict[str, float] = {}
    results: dict[str, list[dict]] = {k: [] for k in variants}
    for rep in range(args.repeats):
        seed = args.first_seed + rep % max(args.seeds, 1)
        for name, env in variants.items():  # interleaved
            r = run_child(CHILD_HIFIT, env, args.ntoys, seed)
            results[name].append(r)
            rate = 2 * args.ntoys / r["cpu_s"]
            best[name] = max(best.get(name, 0.0), rate)
            print(
                f"{name:10s} seed {seed}: {r['cpu_s']:7.2f} s CPU, "
                f"{rate:7.1f} toys/s/core, CLs {r['cls']:.6f}, failed {r['failed']}",
                flush=True,
            )
    # same toys, same statistics: the sorted q of the two builds side by side
    old, new = results["hifit old"][0], results["hifit new"][0]
    if len(old["q_sb"]) == len(new["q_sb"]) and len(old["q_b"]) == len(new["q_b"]):
        dev = max(
            (
                abs(a - b)
                for a, b in zip(
                    old["q_sb"] + old["q_b"], new["q_sb"] + new["q_b"], strict=True
                )
            ),
            default=0.0,
        )
        print(f"max |q old - q new| over the sorted toys of the first seed: {dev:.3g}")
    if args.pyhf_toys > 0:
        r = run_child(CHILD_PYHF, {}, args.pyhf_toys, 0)
        rate = 2 * args.pyhf_toys / r["cpu_s"]
        best["pyhf"] = rate
        print(
            f"pyhf ToyCalculator: {r['cpu_s']:.1f} s CPU for "
            f"{args.pyhf_toys} toy pairs, "
            f"{rate:.3f} toys/s/core"
        )
    print("\nbest toys/s/core (one pseudo-experiment and its test statistic):")
    for name, rate in best.items():
        print(f"  {name:10s} {rate:9.2f}")
    if "pyhf" in best:
        print(f"  new / pyhf  {best['hifit new'] / best['pyhf']:9.0f}x")
    print(f"  new / old   {best['hifit new'] / best['hifit old']:9.1f}x")


if __name__ == "__main__":
    main()
