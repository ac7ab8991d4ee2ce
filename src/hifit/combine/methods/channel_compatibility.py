"""-M ChannelCompatibilityCheck: the nominal fit (one r for every channel) against
the alternate fit (the signal of each channel scaled by its own r, named
``_ChannelCompatibilityCheck_r_<channel>`` as Combine does); limit = 2 (NLL(nominal)
- NLL(alternate)), the chi2-like compatibility variable."""

from __future__ import annotations

from ...datacard import load_model
from ...infer.channel_compatibility import channel_compatibility
from ..options import CombineOptions, OptionError
from ..setup import Setup
from .result import MethodResult


def extra_outputs(options: CombineOptions) -> list[str]:
    return []


def _groups(options: CombineOptions) -> list[tuple[str, tuple[float, float] | None]]:
    """-g NAME[=RMIN,RMAX]: channels whose name contains NAME share one r."""
    out = []
    for item in options.get("group", []) or []:
        name, sep, rest = item.partition("=")
        if not sep:
            out.append((name, None))
            continue
        try:
            lo, hi = (float(x) for x in rest.split(","))
        except ValueError:
            raise OptionError(f"-g {item!r}: expected NAME or NAME=RMIN,RMAX") from None
        out.append((name, (lo, hi)))
    return out


def _label(channel: str, groups) -> str:
    for name, _ in groups:
        if name in channel:
            return name
    return channel


def run(setup: Setup) -> MethodResult:
    opts = setup.options
    if opts.get("PO") or opts.get("redefineSignalPOIs"):
        raise OptionError(
            "ChannelCompatibilityCheck: physics-model maps are not supported "
            "(the check replaces the single signal strength)"
        )
    model = setup.model
    cfg = model.config
    poi = cfg.poi_index
    r_name = cfg.poi_name
    groups = _groups(opts)
    signal_channels = sorted(
        {
            c.bin
            for c in setup.built.card.columns
            if setup.built.card.is_signal(c.process)
        }
    )
    labels = {ch: _label(ch, groups) for ch in signal_channels}
    name_of = {
        lab: f"_ChannelCompatibilityCheck_{r_name}_{lab}" for lab in labels.values()
    }
    alternate = load_model(
        opts.card,
        mass=opts.mass,
        poi_map=[(f"{ch}/*", name_of[lab]) for ch, lab in labels.items()],
        keywords=opts.keywords,
    ).model
    # the alternate starts from the nominal settings, by name; each r_i takes r's
    init, bounds, fixed = setup.init, setup.bounds, setup.fixed
    names = cfg.par_names
    a_names = alternate.config.par_names
    a_init = list(alternate.config.suggested_init())
    a_bounds = list(alternate.config.suggested_bounds())
    a_fixed = list(alternate.config.suggested_fixed())
    ranges = dict(groups)
    for j, n in enumerate(a_names):
        if n in names:
            i = names.index(n)
            a_init[j], a_bounds[j], a_fixed[j] = init[i], bounds[i], fixed[i]
    for lab, n in name_of.items():
        j = a_names.index(n)
        a_init[j], a_bounds[j], a_fixed[j] = init[poi], bounds[poi], False
        if ranges.get(lab):
            a_bounds[j] = ranges[lab]
    n_init, n_fixed = list(init), list(fixed)
    fixed_mu = opts.get("fixedSignalStrength")
    if fixed_mu is not None:
        n_init[poi], n_fixed[poi] = float(fixed_mu), True
    else:
        n_fixed[poi] = False
    run_minos = bool(opts.get("runMinos", True))
    res = channel_compatibility(
        setup.data,
        model,
        alternate,
        list(name_of.values()),
        nominal_fit=(n_init, bounds, n_fixed),
        alternate_fit=(a_init, a_bounds, a_fixed),
        run_minos=run_minos and fixed_mu is None,
    )
    text = "\n --- ChannelCompatibilityCheck --- \n"
    if fixed_mu is not None:
        text += f"Nominal fit: {r_name} fixed at {res.nominal.bestfit[poi]:7.4f}\n"
    elif run_minos and res.nominal_interval is not None:
        iv = res.nominal_interval
        text += (
            f"Nominal fit  : {r_name} = {iv.value:7.4f}  "
            f"{iv.lower:+6.4f}/{iv.upper:+6.4f}\n"
        )
    else:
        text += (
            f"Nominal fit  : {r_name} = {res.nominal.bestfit[poi]:7.4f}  "
            f"+/- {res.nominal.uncertainty[poi]:6.4f}\n"
        )
    for lab in sorted(name_of):
        n = name_of[lab]
        j = a_names.index(n)
        iv = res.alternate_intervals.get(n)
        if iv is not None and run_minos and fixed_mu is None:
            text += (
                f"Alternate fit: {r_name} = {iv.value:7.4f}  {iv.lower:+6.4f}/"
                f"{iv.upper:+6.4f}   in channel {lab}\n"
            )
        else:
            text += (
                f"Alternate fit: {r_name} = {res.alternate.bestfit[j]:7.4f}  +/- "
                f"{res.alternate.uncertainty[j]:6.4f}   in channel {lab}\n"
            )
    text += f"Chi2-like compatibility variable: {res.chi2:.6g}\n"
    failure = None if res.valid else f"ChannelCompatibilityCheck: {res.message}"
    rows = [{"limit": res.chi2}] if res.nominal.valid and res.alternate.valid else []
    return MethodResult(rows=rows, text=text, failure=failure)
