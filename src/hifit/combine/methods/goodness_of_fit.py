"""-M GoodnessOfFit --algo saturated: 2 (NLL(best fit) - NLL(saturated)) of the data
set the options select (observed, the Asimov data set, or each toy of ``-t N``), one
row per data set (limit = the statistic), as Combine's GoodnessOfFit.cc."""

from __future__ import annotations

import numpy as np

from ...executor import fan_out_executor
from ...infer.saturated import saturated_statistics
from ..options import CombineOptions, OptionError
from ..setup import Setup
from .result import MethodResult


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def _algorithm(options: CombineOptions) -> str:
    algo = options.get("algorithm") or options.algo
    if algo == "saturated":
        return algo
    if algo in ("KS", "AD"):
        raise OptionError(f"GoodnessOfFit --algo {algo}: only saturated is supported")
    raise OptionError("GoodnessOfFit needs --algo saturated")


def _datasets(setup: Setup) -> list[tuple[int, np.ndarray]]:
    """-t N: Combine's toys (Setup.toys: by default the constrained nuisances drawn
    from their priors with the global observables kept; --toysFrequentist: generated
    at the fit to data, global observables drawn too); otherwise the data set."""
    if setup.options.toys <= 0:
        return [(setup.options.toys, setup.data)]
    return list(setup.toys())


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    _algorithm(opts)
    fixed = list(setup.fixed)
    init = list(setup.init)
    if opts.get("fixedSignalStrength") is not None:
        poi = setup.model.config.poi_index
        init[poi], fixed[poi] = float(opts.get("fixedSignalStrength")), True
    if opts.get("setParametersForFit") or opts.get("setParametersForEval"):
        raise OptionError(
            "GoodnessOfFit: --setParametersForFit/--setParametersForEval "
            "are not supported"
        )
    datasets = _datasets(setup)
    stats = saturated_statistics(
        np.stack([d for _, d in datasets]),
        setup.model,
        init_pars=init,
        par_bounds=setup.bounds,
        fixed_params=fixed,
        executor=fan_out_executor(),
    )
    rows, text = (
        [],
        "Will use saturated model to compute goodness of fit for a binned likelihood\n",
    )
    for (i_toy, _), value, ok in zip(
        datasets, stats.statistic, stats.valid, strict=True
    ):
        if not ok:
            continue
        rows.append({"limit": float(value), "iToy": i_toy})
        text += f"\n --- GoodnessOfFit --- \nBest fit test statistic: {value:.6g}\n"
    failure = None
    if stats.failed:
        failure = (
            f"GoodnessOfFit: {stats.failed} of {len(datasets)} best fits did not "
            f"converge ({stats.message})"
        )
    return MethodResult(rows=rows, text=text, failure=failure)
