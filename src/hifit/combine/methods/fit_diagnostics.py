"""-M FitDiagnostics: the s+b fit (fit_s, MINOS on r), the b-only fit (fit_b, r fixed
at 0) and the pre-fit point; ``fitDiagnostics<name>.root`` with Combine's trees
(tree_fit_sb, tree_fit_b, tree_prefit), the normalisations per channel and process
and, with --saveShapes, the shapes_prefit/shapes_fit_b/shapes_fit_s directories
(per process, total, total_signal, total_background, total_covar with
--saveWithUncertainties, data). What uproot cannot write (RooFitResult, RooArgSet)
is replaced as README's "hifit combine" section says."""

from __future__ import annotations

import numpy as np

from ...infer.fit_diagnostics import FitDiagnostics, fit_diagnostics
from ...io import root_file
from ..options import CombineOptions, OptionError
from ..setup import Setup
from .multidimfit import _minos_level
from .result import MethodResult

STAGES = (
    ("prefit", "shapes_prefit"),
    ("fit_b", "shapes_fit_b"),
    ("fit_s", "shapes_fit_s"),
)


def output_file(options: CombineOptions) -> str:
    return f"fitDiagnostics{options.name}.root"


def extra_outputs(options: CombineOptions) -> list[str]:
    return [output_file(options)]


def _tree(out, name: str, values: dict[str, float | int]) -> None:
    types = {
        k: np.int32 if k in ("fit_status", "numbadnll") else np.float64 for k in values
    }
    tree = out.mktree(name, {k: np.dtype(t) for k, t in types.items()})
    tree.extend({k: np.array([v], dtype=types[k]) for k, v in values.items()})


def _fit_values(setup: Setup, fd: FitDiagnostics, stage: str) -> dict[str, float]:
    """tree_fit_sb / tree_fit_b / tree_prefit: the fit summary, the global
    observables (<name>_In) and the nuisance values, names sorted as RooArgSets."""
    cfg = setup.model.config
    poi = cfg.poi_index
    names = cfg.par_names
    aux_of = _global_observables(setup, fd)
    if stage == "prefit":
        pars = fd.prefit
        row: dict[str, float] = {}
    else:
        fit = fd.fit_s if stage == "fit_s" else fd.fit_b
        pars = fit.bestfit
        lo, hi = (-fd.poi_lower, fd.poi_upper) if stage == "fit_s" else (0.0, 0.0)
        row = {
            "fit_status": 0 if fit.valid else -1,
            "r": float(pars[poi]),
            "rErr": float(fit.uncertainty[poi]),
            "rLoErr": lo,
            "rHiErr": hi,
            "numbadnll": 0,
            "nll_min": fit.twice_nll / 2,
        }
        if stage == "fit_s":
            row["nll_nll0"] = (fd.fit_s.twice_nll - fd.fit_b.twice_nll) / 2
    nuisances = sorted(
        n for i, n in enumerate(names) if i != poi and n not in setup.pois
    )
    for n in sorted(aux_of):
        row[n + "_In"] = aux_of[n]
    # a gmN is theta / N here, the event count theta in Combine
    counts = {
        p.name: aux_of[p.name]
        for p in cfg.paramsets
        if str(p.constraint).endswith("poisson") and aux_of.get(p.name, 0) > 0
    }
    for n in nuisances:
        row[n] = float(pars[names.index(n)]) * counts.get(n, 1.0)
    return row


def _global_observables(setup: Setup, fd: FitDiagnostics) -> dict[str, float]:
    """Constrained parameter -> its auxiliary datum (Combine's global observable)."""
    cfg = setup.model.config
    aux = setup.data[cfg.nmaindata :]
    return {
        n: float(aux[a])
        for n, a in zip(cfg.par_names, fd.aux_of, strict=True)
        if a >= 0
    }


def _write(setup: Setup, fd: FitDiagnostics) -> None:
    opts = setup.options
    cfg = setup.model.config
    save_shapes = bool(opts.get("saveShapes"))
    with_errors = bool(opts.get("saveWithUncertainties"))
    width = max(cfg.channel_nbins.values())  # channels share CMS_th1x's binning
    edges = np.arange(width + 1, dtype=float)
    data = setup.data[: cfg.nmaindata]
    offsets = np.cumsum([0] + [cfg.channel_nbins[c] for c in cfg.channels])

    def pad(v: np.ndarray) -> np.ndarray:
        return np.concatenate([v, np.zeros(width - len(v))])

    with root_file(output_file(opts)) as out:
        for stage, directory in STAGES:
            for ch, cy in fd.yields[stage].items() if save_shapes else ():
                base = f"{directory}/{ch}"
                items = [
                    *cy.processes.items(),
                    ("total", cy.total),
                    ("total_signal", cy.signal),
                    ("total_background", cy.background),
                ]
                for name, (values, errors) in items:
                    err = pad(errors) if with_errors else np.zeros(width)
                    out[f"{base}/{name}"] = _th1(pad(values), err, edges, name, ch)
                if with_errors:
                    cov = np.zeros((width, width))
                    n = len(cy.total[0])
                    cov[:n, :n] = cy.total_covariance
                    out[f"{base}/total_covar"] = (cov, edges, edges)
                c = cfg.channels.index(ch)
                n_obs = data[offsets[c] : offsets[c + 1]]
                # uproot writes no TGraphAsymmErrors: the points as a TGraph, the
                # counts with their Poisson errors as the TH1F data_hist
                x = np.arange(width) + 0.5
                out[f"{base}/data"] = _graph(x, pad(n_obs))
                out[f"{base}/data_hist"] = _th1(
                    pad(n_obs), pad(np.sqrt(n_obs)), edges, "data_hist", ch
                )
        for stage, _ in STAGES:
            norms = {
                f"{ch}/{proc}": value
                for ch, cy in fd.yields[stage].items()
                for proc, value in cy.norms.items()
            }
            _norm_tree(out, f"norm_{stage}", norms)
        _tree(out, "tree_fit_sb", _fit_values(setup, fd, "fit_s"))
        _tree(out, "tree_fit_b", _fit_values(setup, fd, "fit_b"))
        _tree(out, "tree_prefit", _fit_values(setup, fd, "prefit"))
        for stage, fit in (("fit_s", fd.fit_s), ("fit_b", fd.fit_b)):
            n = len(fit.bestfit)
            axis = np.arange(n + 1, dtype=float)
            out[f"covariance_{stage}"] = (
                np.asarray(fit.cov_mat).reshape(n, n),
                axis,
                axis,
            )


def _th1(values, errors, edges, name, channel):
    import uproot

    return uproot.writing.identify.to_TH1x(
        fName=name,
        fTitle=f"{name} in {channel}",
        data=np.concatenate([[0.0], values, [0.0]]).astype(np.float32),
        fEntries=float(len(values)),
        fTsumw=float(np.sum(values)),
        fTsumw2=float(np.sum(errors**2)),
        fTsumwx=0.0,
        fTsumwx2=0.0,
        fSumw2=np.concatenate([[0.0], errors**2, [0.0]]),
        fXaxis=uproot.writing.identify.to_TAxis(
            "xaxis", "CMS_th1x", len(values), float(edges[0]), float(edges[-1])
        ),
    )


def _graph(x, y):
    import uproot

    return uproot.as_TGraph({"x": x, "y": y.astype(float)}, title="data")


def _norm_tree(out, name: str, norms: dict[str, tuple[float, float]]) -> None:
    """Combine's RooArgSet of <channel>/<process> yields as a one-entry TTree:
    branch <channel>/<process> the yield, <channel>/<process>_err its error."""
    branches = {}
    for key, (value, error) in norms.items():
        branches[key] = value
        branches[key + "_err"] = error
    tree = out.mktree(name, {k: np.dtype(np.float64) for k in branches})
    tree.extend({k: np.array([v]) for k, v in branches.items()})


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    if opts.toys > 0:
        raise OptionError("FitDiagnostics with -t N toys is not supported (use -t -1)")
    card = setup.built.card
    signal = sorted({c.process for c in card.columns if card.is_signal(c.process)})
    fd = fit_diagnostics(
        setup.data,
        setup.model,
        signal,
        **setup.fit_kwargs(),
        minos_delta=_minos_level(setup),  # Combine's MINOS errorlevel, as MultiDimFit
    )
    poi = setup.model.config.poi_index
    name = setup.model.config.poi_name
    r = float(fd.fit_s.bestfit[poi])
    lo, hi = fd.poi_lower, fd.poi_upper
    text = "\n --- FitDiagnostics ---\n"
    text += f"Best fit {name}: {r:.6g}  {-abs(lo):.6g}/+{hi:.6g}  (68% CL)\n"
    rows = [
        {"limit": r, "quantileExpected": 0.5},
        {"limit": r + lo, "quantileExpected": 0.16},
        {"limit": r + hi, "quantileExpected": 0.84},
        {"limit": r, "limitErr": hi, "quantileExpected": -1.0},
    ]
    failure = None if fd.valid else f"FitDiagnostics: {fd.message}"
    return MethodResult(
        rows=rows, text=text, failure=failure, write_extra=lambda: _write(setup, fd)
    )
