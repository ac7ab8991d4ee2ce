"""Fit + impacts of Combine's CI card htt_multiple_regions.txt, in one run.

Run from the project root:

    .venv/bin/python benchmarks/bench_combine.py [--repeat N] [--jobs N]

Combine itself needs CMSSW + ROOT, which this machine does not have. The reference in
the same run is therefore Combine's minimizer on the same likelihood: iminuit MIGRAD
(strategy 1, tolerance 0.1 as Combine's defaults, numerical derivatives) + HESSE on
hifit's -2 ln L of the same card. Combine's RooFit likelihood evaluation is slower than
hifit's, so these reference times are a lower bound of what Combine takes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _timing import cpu_name  # pins BLAS pools to one thread before numpy loads

CARD = Path(__file__).resolve().parents[1] / ".." / "shared/data/combine/ci"
CARD = CARD / "htt_multiple_regions.txt"


def best_of(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="threads for the impacts")
    args = parser.parse_args()

    import iminuit
    import numpy as np

    from hifit import datacard
    from hifit.datacard import load_model
    from hifit.infer import fit, ranking

    print(f"card: {CARD.name}   cpu: {cpu_name()}")
    t_read, _ = best_of(lambda: datacard.read(str(CARD), mass=125), args.repeat)
    t_load, built = best_of(lambda: load_model(str(CARD), mass=125), args.repeat)
    model, data = built.model, built.data
    npars = model.config.npars
    t_fit, res = best_of(lambda: fit(data, model), args.repeat)
    assert res.valid, res.status
    t_rank, rank = best_of(
        lambda: ranking(data, model, fit_result=res, jobs=args.jobs), 1
    )
    n_np = len(rank.labels)

    # Reference: Minuit as Combine runs it, on the same -2 ln L (errordef 1).
    lik = model.likelihood(data)
    init = np.array(model.config.suggested_init(), float)
    bounds = model.config.suggested_bounds()
    names = model.config.par_names

    def minuit_fit(fixed_index: int | None = None, value: float = 0.0):
        m = iminuit.Minuit(lambda x: lik.twice_nll(x), init.copy(), name=names)
        m.errordef = 1.0
        m.strategy = 1
        m.tol = 0.1
        m.limits = bounds
        if fixed_index is not None:
            m.values[fixed_index] = value
            m.fixed[fixed_index] = True
        m.migrad()
        if fixed_index is None:
            m.hesse()
        return m

    t_minuit, m = best_of(minuit_fit, max(1, args.repeat // 2))
    r_index = model.config.poi_index
    # one Combine impact = two fits with the NP fixed at its +-1 sigma post-fit values
    sample = [model.config.par_names.index(n) for n in rank.labels[:5]]
    t0 = time.perf_counter()
    for i in sample:
        for sign in (-1, 1):
            minuit_fit(i, res.bestfit[i] + sign * res.uncertainty[i])
    t_minuit_impact = (time.perf_counter() - t0) / len(sample)

    print(f"parameters: {npars}, ranked nuisance parameters: {n_np}")
    print(f"r = {res.bestfit[r_index]:.4f} (Minuit: {m.values[r_index]:.4f})")
    rows = [
        ("read card + templates (uproot)", t_read, None),
        ("read + build model", t_load, None),
        ("fit (with covariance)", t_fit, t_minuit),
        ("impacts, per parameter (4 fits)", t_rank / n_np, t_minuit_impact),
        (f"impacts, all {n_np} parameters", t_rank, t_minuit_impact * n_np),
    ]
    print(f"{'step':36s} {'hifit':>12s} {'Minuit ref.':>12s} {'ratio':>8s}")
    for name, t, ref in rows:
        ref_s = f"{ref * 1e3:10.2f}ms" if ref else f"{'-':>12s}"
        ratio = f"{ref / t:7.0f}x" if ref else f"{'':>8s}"
        print(f"{name:36s} {t * 1e3:10.2f}ms {ref_s} {ratio}")
    print(
        f"time per fit: {t_fit * 1e3:.2f} ms; time per impact: "
        f"{t_rank / n_np * 1e3:.2f} ms (reference per impact: mean over the "
        f"{len(sample)} top-ranked NPs)"
    )


if __name__ == "__main__":
    main()
