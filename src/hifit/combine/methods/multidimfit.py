"""-M MultiDimFit: the best fit of the POIs and, per --algo, their profile-likelihood
intervals (singles), a likelihood scan over 1 or 2 POIs (grid), the likelihood at a
fixed point (fixed) or combineTool's impact fits (impact). Rows as Combine commits
them (src/MultiDimFit.cc, src/RandStartPt.cc): first the best fit (quantileExpected
-1, deltaNLL 0), then

* singles: per POI its interval ends (quantileExpected -0.32 and +0.32, the other
  POIs at the best fit);
* impact: per -P parameter a fit with it fixed at each end of its interval
  (quantileExpected 0.32 both, the POIs saved with --saveInactivePOI 1);
* grid / fixed: each point with deltaNLL = NLL - NLL(best fit) and quantileExpected
  the chi2 survival probability of 2 deltaNLL (degrees of freedom: the POIs scanned
  plus the other floating POIs); points whose fit failed are left out, as Combine
  leaves them out.

Branches after the common ones: with --saveNLL nll and nll0 (doubles; relative to
the NLL at the starting point, as Combine offsets its NLL there), the POIs (float),
the inactive POIs with --saveInactivePOI 1, deltaNLL."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...infer import fit
from ...infer.scans import minos
from ..options import CombineOptions, OptionError
from ..setup import Setup
from .multidimfit_grid import grid, profile
from .result import MethodResult

UNSUPPORTED = (
    "saveSpecifiedNuis", "saveSpecifiedFunc", "saveSpecifiedIndex", "robustHesseLoad",
    "robustHesseSave", "pointsRandProf", "setParameterRandomInitialValueRanges",
    "autoRange", "centeredRange", "squareDistPoiStep", "setParametersForGrid",
    "saveFitResult", "out", "autoBoundsPOIs", "autoMaxPOIs",
)  # fmt: skip
ALGOS = ("none", "singles", "grid", "fixed", "impact")


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


class _Scan:
    """What every data set shares: the POIs, who floats, the fit arguments."""

    def __init__(self, setup: Setup) -> None:
        opts = setup.options
        for name in UNSUPPORTED:
            if name in opts.extra:
                raise OptionError(f"--{name} is not supported by hifit's MultiDimFit")
        if opts.get("do95", False):
            raise OptionError("--do95 1 is not supported by hifit's MultiDimFit")
        if opts.get("profilingMode", "all") != "all":
            raise OptionError("--profilingMode: hifit profiles all parameters")
        if opts.algo not in ALGOS:
            msg = f"--algo {opts.algo} is not supported (hifit has {', '.join(ALGOS)})"
            raise OptionError(msg)
        names = setup.model.config.par_names
        given = [p for item in opts.get("parameters", []) for p in item.split(",") if p]
        for p in given:
            if p not in names:
                import difflib

                near = difflib.get_close_matches(p, names, n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(near)}?" if near else ""
                raise OptionError(f"-P: no parameter named {p!r} in the model{hint}")
        self.setup = setup
        self.pois = given or list(setup.pois)
        self.others = [p for p in setup.pois if p not in self.pois]
        self.index = {p: names.index(p) for p in self.pois + self.others}
        self.fixed = list(setup.fixed)
        floating_others = bool(opts.get("floatOtherPOIs", False))
        for p in self.others:
            if not floating_others:
                self.fixed[self.index[p]] = True
        if opts.algo == "impact":
            setup.require_floating(self.pois)
        self.n_other_floating = sum(not self.fixed[self.index[p]] for p in self.others)
        self.inactive = self.others if opts.get("saveInactivePOI", False) else []
        self.save_nll = bool(opts.get("saveNLL"))
        self.nll_start = 0.0
        self.notes: list[str] = []
        if opts.algo == "grid" and len(self.pois) > 2:
            raise OptionError("--algo grid scans 1 or 2 POIs; choose them with -P")

    def kwargs(self, fixed: list[bool] | None = None, init=None) -> dict:
        return {
            "init_pars": list(self.setup.init if init is None else init),
            "par_bounds": self.setup.bounds,
            "fixed_params": self.fixed if fixed is None else fixed,
        }

    def row(self, pars, delta: float, quantile: float | None = None) -> dict:
        # FitterAlgoBase adds nll and nll0 (doubles) before MultiDimFit's branches
        row: dict = (
            {"nll": np.float64(0), "nll0": np.float64(0)} if self.save_nll else {}
        )
        row.update({p: float(pars[self.index[p]]) for p in self.pois})
        row.update({p: float(pars[self.index[p]]) for p in self.inactive})
        row["deltaNLL"] = float(delta)
        if quantile is not None:
            row["quantileExpected"] = float(quantile)
        return row

    def probability(self, delta: float) -> float:
        # RandStartPt: chisquared_cdf_c(2 deltaNLL, nPOI + other floating POIs); only
        # for --pvalue, scipy.stats takes seconds to import
        from scipy import stats

        return float(stats.chi2.sf(2.0 * delta, len(self.pois) + self.n_other_floating))


def _datasets(setup: Setup) -> Iterator[tuple[int, np.ndarray]]:
    if setup.options.toys > 0:
        yield from setup.toys()
    else:
        yield setup.options.toys, setup.data


def run(setup: Setup) -> MethodResult:
    job = _Scan(setup)
    rows: list[dict] = []
    text = ""
    notes = job.notes
    for i_toy, data in _datasets(setup):
        more, printed, failure = _one(job, data)
        if setup.options.toys > 0:
            for row in more:
                row["iToy"] = np.int32(i_toy)
        rows += more
        text += printed
        if failure:
            return MethodResult(rows, text, failure, notes=notes)
    return MethodResult(rows, text, notes=notes)


def _one(job: _Scan, data: np.ndarray) -> tuple[list[dict], str, str | None]:
    setup, opts = job.setup, job.setup.options
    model = setup.model
    text = "Doing initial fit: \n"
    best = fit(data, model, **job.kwargs())
    if not best.valid and not _at_bound(job, best):
        text += "\n WARNING: MultiDimFit failed\n"
        return [], text, f"the initial fit failed: {best.status}"
    first = job.row(best.bestfit, 0.0)
    if job.save_nll:
        # Combine's NLL is offset to 0 at the starting point: nll is the minimum
        # relative to it, nll0 the starting point (0); grid rows keep these
        job.nll_start = 0.5 * model.twice_nll(job.kwargs()["init_pars"], data)
        first["nll"] = np.float64(0.5 * best.twice_nll - job.nll_start)
    rows = [first]
    if opts.algo == "singles":
        more, printed, failure = _singles(job, data, best)
    elif opts.algo == "grid":
        more, printed, failure = grid(job, data, best)
    elif opts.algo == "fixed":
        more, printed, failure = _fixed(job, data, best)
    elif opts.algo == "impact":
        more, printed, failure = _impact(job, data, best)
    else:
        more, printed, failure = [], "", None
    if job.save_nll:
        for row in more:
            if opts.algo != "fixed":
                row["nll"], row["nll0"] = first["nll"], first["nll0"]
    return rows + more, text + printed, failure


def _at_bound(job: _Scan, best) -> bool:
    """A minimum on a POI's bound: valid, though its covariance is not."""
    return any(
        best.bestfit[i] in job.setup.bounds[i] for i in map(job.index.get, job.pois)
    )


def _minos_level(setup: Setup) -> float:
    # Combine's MINOS errorlevel is 0.5 * chi2_1^-1(0.68); on cards with shapes
    # CascadeMinimizer::minos rebuilds the minimizer and it falls back to 0.5
    if setup.built.card.shapes:
        return 1.0
    from statistics import NormalDist  # not scipy.stats: 2 s to import

    return NormalDist().inv_cdf(0.84) ** 2  # chi2_1's 68 % quantile


def _singles(job: _Scan, data, best) -> tuple[list[dict], str, str | None]:
    setup = job.setup
    text = "\n --- MultiDimFit ---\n"
    text += "best fit parameter values and profile-likelihood uncertainties: \n"
    width = max(len(p) for p in job.pois)
    floating = [p for p in job.pois if not job.fixed[job.index[p]]]
    found = minos(
        data, setup.model, floating, fit_result=best,
        delta_twice_nll=_minos_level(setup), **job.kwargs(),
    ) if floating else {}  # fmt: skip
    rows = []
    for poi in job.pois:
        if poi not in found:
            # a frozen POI: no MINOS errors, so Combine writes both ends at its value
            value = float(best.bestfit[job.index[poi]])
            for q in (-0.32, 0.32):
                rows.append(job.row(best.bestfit, 0.0, q))
            text += (
                f"   {poi:>{width}s} :  {value:+8.3f}   {0.0:+6.3f}/{0.0:+6.3f} (68%)\n"
            )
            continue
        interval = found[poi]
        if not interval.valid:
            return rows, text, f"the interval of {poi} failed: {interval.message}"
        centre = (
            interval.improved_fit.bestfit if interval.improved_fit else best.bestfit
        )
        value = float(centre[job.index[poi]])
        lo, hi = -interval.lower, interval.upper
        for end, q in ((value - lo, -0.32), (value + hi, 0.32)):
            row = job.row(centre, 0.0, q)
            row[poi] = end
            rows.append(row)
        text += f"   {poi:>{width}s} :  {value:+8.3f}   {-lo:+6.3f}/{hi:+6.3f} (68%)\n"
    return rows, text, None


def _impact(job: _Scan, data, best) -> tuple[list[dict], str, str | None]:
    """--algo impact (combineTool.py -M Impacts' per-parameter fits): each -P
    parameter's interval, then a fit with it fixed at each end; rows with
    quantileExpected 0.32 hold every parameter saved there (the POIs with
    --saveInactivePOI 1)."""
    setup = job.setup
    width = max(9, *(len(p) for p in job.pois))
    text = "\n --- MultiDimFit ---\nParameter impacts: \n"
    text += f"  {'Parameter':<{width}s} :   {'Best-fit':<21s}\n"
    found = minos(
        data, setup.model, job.pois, fit_result=best,
        delta_twice_nll=_minos_level(setup), **job.kwargs(),
    )  # fmt: skip
    rows = []
    for poi in job.pois:
        interval = found[poi]
        if not interval.valid:
            return rows, text, f"the interval of {poi} failed: {interval.message}"
        centre = (
            interval.improved_fit.bestfit if interval.improved_fit else best.bestfit
        )
        value = float(centre[job.index[poi]])
        lo, hi = -interval.lower, interval.upper
        text += f"  {poi:<{width}s} : {value:+8.3f}  {-lo:+6.3f}/{hi:+6.3f}\n"
        fixed = list(job.fixed)
        fixed[job.index[poi]] = True
        for end in (value - lo, value + hi):
            init = np.array(centre, dtype=float)
            init[job.index[poi]] = end
            r = fit(data, setup.model, **job.kwargs(fixed, init))
            if r.valid:  # Combine commits the point only when the fit succeeded
                rows.append(job.row(r.bestfit, 0.0, 0.32))
            else:
                job.notes.append(f"the fit with {poi} = {end:g} failed: {r.status}")
    return rows, text, None


def _fixed(job: _Scan, data, best) -> tuple[list[dict], str, str | None]:
    setup, opts = job.setup, job.setup.options
    spec = opts.get("fixedPointPOIs", "") or opts.get("setParameters", "")
    names = setup.model.config.par_names
    point = np.array(best.bestfit, dtype=float)
    for item in filter(None, spec.split(",")):
        name, sep, value = item.partition("=")
        if not sep or name not in names:
            raise OptionError(
                f"--fixedPointPOIs: expected POI=VALUE[,...], found {item!r}"
            )
        point[names.index(name)] = float(value)
    text = "".join(
        f" Evaluating fixed point with {p}= {point[job.index[p]]:g}\n" for p in job.pois
    )
    _, _, pars, twice_nll = next(
        profile(job, data, best, [tuple(point[job.index[p]] for p in job.pois)])
    )
    if pars is None:
        return [], text, "the fit at the fixed point failed"
    delta = 0.5 * twice_nll - 0.5 * best.twice_nll
    row = job.row(pars, delta, job.probability(delta))
    if job.save_nll:  # MultiDimFit::doFixedPoint: both relative to the start
        row["nll"] = np.float64(0.5 * twice_nll - job.nll_start)
        row["nll0"] = np.float64(0.5 * best.twice_nll - job.nll_start)
    return [row], text, None
