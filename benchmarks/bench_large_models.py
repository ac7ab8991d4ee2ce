"""Fits of models with 10^3-10^5 per-bin (staterror) parameters: time and memory.

Each size runs in its own process (so its peak RSS, ``resource.getrusage``, is its
own): the synthetic workspace of ``tests/python/test_block_hessian.py`` (signal with
normfactor and lumi, background with normsys, lumi and one staterror per bin) is
built and fitted once with hifit's default path (in blocks from 256 per-bin
parameters on); the table shows the fit time, the evaluations (a count that does not
depend on the machine's load), the peak RSS of the process and its RSS before the
fit. pyhf (numpy backend, scipy optimizer) fits the same models up to
``--pyhf-max`` bins; larger ones are skipped with a note.

    .venv/bin/python benchmarks/bench_large_models.py            # 1k 3k 10k 30k 100k
    .venv/bin/python benchmarks/bench_large_models.py --bins 1000 --bins 10000
    .venv/bin/python benchmarks/bench_large_models.py --dense     # the dense path too
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {tests!r})
import numpy as np
from test_block_hessian import staterror_spec
tool, nbins, hessian = sys.argv[1], int(sys.argv[2]), sys.argv[3]
spec = staterror_spec(nbins, seed=1)
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
out = {{}}
if tool == "hifit":
    import hifit
    ws = hifit.Workspace(spec)
    model = ws.model()
    data = np.asarray(ws.data(model))
    out["rss_before"] = rss()
    t = time.perf_counter()
    res = hifit.infer.fit(data, model, hessian=hessian)
    out["time"] = time.perf_counter() - t
    out.update(valid=res.valid, twice_nll=res.twice_nll, evaluations=res.evaluations,
               iterations=res.iterations)
else:
    import pyhf
    pyhf.set_backend("numpy", "scipy")
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = np.asarray(ws.data(model))
    out["rss_before"] = rss()
    t = time.perf_counter()
    _, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    out["time"] = time.perf_counter() - t
    out.update(valid=True, twice_nll=float(twice_nll), evaluations=0, iterations=0)
out["rss_peak"] = rss()
print(json.dumps(out))
"""


def run(tool: str, nbins: int, hessian: str, timeout: float) -> dict | str:
    tests = str(Path(__file__).resolve().parents[1] / "tests" / "python")
    code = CHILD.format(tests=tests)
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, tool, str(nbins), hessian],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"skipped: over {timeout:.0f} s"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return "failed: " + (lines[-1] if lines else f"exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, action="append")
    parser.add_argument("--pyhf-max", type=int, default=1000)
    parser.add_argument("--dense", action="store_true", help="also the dense path")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    sizes = args.bins or [1000, 3000, 10000, 30000, 100000]
    rows = [("hifit", "auto")] + ([("hifit", "dense")] if args.dense else [])
    rows.append(("pyhf", "-"))
    print(
        f"{'bins':>7} {'tool':>12} {'time/s':>9} {'evals':>6} {'peak MB':>8} "
        f"{'before MB':>9} {'-2lnL':>16}"
    )
    for nbins in sizes:
        for tool, hessian in rows:
            name = tool if hessian in ("auto", "-") else f"{tool}-{hessian}"
            if tool == "pyhf" and nbins > args.pyhf_max:
                print(f"{nbins:>7} {name:>12}  skipped (pyhf above --pyhf-max)")
                continue
            r = run(tool, nbins, hessian, args.timeout)
            if isinstance(r, str):
                print(f"{nbins:>7} {name:>12}  {r}")
                continue
            print(
                f"{nbins:>7} {name:>12} {r['time']:>9.3f} {r['evaluations']:>6} "
                f"{r['rss_peak']:>8.0f} {r['rss_before']:>9.0f} {r['twice_nll']:>16.6f}"
                + ("" if r["valid"] else "  (invalid)"),
                flush=True,
            )


if __name__ == "__main__":
    main()
