"""-M HybridNew in LHC mode (--LHCmode LHC-limits, or --testStat LHC): frequentist
toys at each r (generated at the fits to data with r fixed, global observables
drawn), the LHC test statistic, CLs = CLs+b / CLb with its Monte-Carlo error, and
Combine's upper-limit search; --singlePoint r gives CLs at one point. Rows: limit
and limitErr (the MC error), as HybridNew.cc commits them."""

from __future__ import annotations

from ...executor import fan_out_executor
from ...infer.hybrid_new import HybridNew
from ..options import CombineOptions, OptionError
from ..setup import Setup
from .result import MethodResult


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def _check(opts: CombineOptions) -> None:
    mode = opts.get("LHCmode")
    if mode not in (None, "LHC-limits"):
        raise OptionError(f"HybridNew --LHCmode {mode}: only LHC-limits is supported")
    stat = opts.get("testStat", "LHC" if mode else None)
    if stat != "LHC":
        raise OptionError(
            "HybridNew: only the LHC test statistic is supported "
            "(use --LHCmode LHC-limits or --testStat LHC)"
        )
    if opts.get("rule", "CLs") not in ("CLs", "CLsplusb"):
        raise OptionError(
            f"HybridNew --rule {opts.get('rule')}: expected CLs or CLsplusb"
        )
    if opts.toys != 0:
        raise OptionError("HybridNew with -t: toys are thrown per point (-T) instead")
    if opts.get("grid") or opts.get("readHybridResults"):
        raise OptionError(
            "HybridNew --grid/--readHybridResults: reading RooStats toy grids is not "
            "supported; --expectedFromGrid alone throws the toys it needs"
        )
    if opts.get("significance") or opts.get("onlyTestStat"):
        raise OptionError("HybridNew: only limits and --singlePoint are supported")


def _single_point(text: str, poi: str) -> float:
    name, sep, value = str(text).rpartition("=")
    if (sep and name != poi) or "," in value:
        raise OptionError(f"--singlePoint {text!r}: expected {poi}=VALUE or VALUE")
    try:
        return float(value)
    except ValueError:
        raise OptionError(f"--singlePoint {text!r}: not a number") from None


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    _check(opts)
    poi = setup.model.config.poi_index
    name = setup.model.config.poi_name
    cls_rule = opts.get("rule", "CLs") == "CLs"
    quantile = opts.get("expectedFromGrid")
    engine = HybridNew(
        setup.data,
        setup.model,
        **setup.fit_kwargs(),
        cl=opts.cl,
        toys=int(opts.get("toysH", 500)),
        full_b_toys=bool(opts.get("fullBToys")),
        cls_acc=float(opts.get("clsAcc", 0.005)),
        r_abs_acc=float(opts.get("rAbsAcc", 0.1)),
        r_rel_acc=float(opts.get("rRelAcc", 0.05)),
        iterations=int(opts.get("iterations", 1)),
        expected_quantile=-1.0 if quantile is None else float(quantile),
        cls_quantiles=bool(opts.get("clsQuantiles", True)),
        rule_cls=cls_rule,
        seed=opts.seed,
        executor=fan_out_executor(),
    )
    row_extra = {} if quantile is None else {"quantileExpected": float(quantile)}
    if opts.get("singlePoint") is not None:
        r = _single_point(opts.get("singlePoint"), name)
        p = engine.eval(r, adaptive=float(opts.get("clsAcc", 0.005)) != 0)
        label = "CLs" if cls_rule else "Pmu"
        text = f"\n -- Hybrid New -- \n{label} = {p.cls:.6g} +/- {p.cls_err:.6g}\n"
        failure = None if p.valid else f"HybridNew at {name} = {r:g}: {p.message}"
        rows = [{"limit": p.cls, "limitErr": p.cls_err, **row_extra}]
        return MethodResult(rows=rows, text=text, failure=failure)
    lo, hi = setup.bounds[poi]
    res = engine.limit(lo, hi)
    if not res.valid and not res.points:
        return MethodResult(rows=[], text="", failure=f"HybridNew: {res.message}")
    text = (
        f"\n -- Hybrid New -- \nLimit: {name} < {res.limit:.6g} +/- "
        f"{res.limit_err:.6g} @ {opts.cl * 100:g}% CL\n"
    )
    failure = None if res.valid else f"HybridNew: {res.message}"
    rows = [{"limit": res.limit, "limitErr": res.limit_err, **row_extra}]
    return MethodResult(rows=rows, text=text, failure=failure)
