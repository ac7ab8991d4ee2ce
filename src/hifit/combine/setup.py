"""What every method starts from: the card's model with Combine's parameter
settings applied (POIs, --setParameters, --freezeParameters, ranges, groups) and the
data set the method runs on (observed, the Asimov data set of ``-t -1``, or toys)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from ..datacard import CardModel, load_model
from ..infer import toys as toy_sampling
from ..infer.mle import fit_args
from ..model import Model
from .options import CombineOptions, OptionError
from .physics_model import poi_map_from_options

DEFAULT_POI_RANGE = (0.0, 20.0)  # text2workspace's default range of r


@dataclass
class Setup:
    """The model and data a method runs on, with Combine's settings applied."""

    options: CombineOptions
    built: CardModel
    model: Model  # its POI is the first signal POI (--redefineSignalPOIs / -P)
    pois: list[str]
    data: np.ndarray  # observed, or the Asimov data set for -t -1 (main + aux)
    init: list[float]
    bounds: list[tuple[float, float]]
    fixed: list[bool]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # printed on stderr

    @property
    def poi(self) -> str:
        return self.pois[0]

    def index(self, name: str) -> int:
        return self.model.config.par_names.index(name)

    def fit_kwargs(self) -> dict:
        """init_pars/par_bounds/fixed_params for hifit.infer."""
        return {
            "init_pars": self.init,
            "par_bounds": self.bounds,
            "fixed_params": self.fixed,
        }

    def with_poi(self, name: str) -> Setup:
        """The same setup with ``name`` as the model's POI (MultiDimFit -P)."""
        if name == self.model.config.poi_name:
            return self
        model = self.model.with_poi_model(name)
        pois = [name] + [p for p in self.pois if p != name]
        return Setup(
            self.options, self.built, model, pois, self.data,
            self.init, self.bounds, self.fixed, self.notes,
        )  # fmt: skip

    def require_floating(self, pois: list[str]) -> None:
        """Refuse (exit 2) a method on a POI --freezeParameters froze."""
        frozen = [p for p in pois if self.fixed[self.index(p)]]
        if frozen:
            msg = (
                f"-M {self.options.method} measures {', '.join(frozen)}, which "
                "--freezeParameters freezes"
            )
            raise OptionError(msg)

    def generation_point(self) -> list[float]:
        """Parameters toys and the Asimov data set are generated at (Combine.cc):
        with a POI ``r``, r at --expectSignal unless only --setParameters sets it;
        without, the POIs as set if --expectSignal or --setParameters is given, else
        the background-only model (every POI at 0); the rest as set."""
        pars = list(self.init)
        opts = self.options
        set_by_hand = _values(opts.get("setParameters", ""))
        signal_given = "expectSignal" in opts.explicit
        if "r" in self.pois:
            if signal_given or "r" not in set_by_hand:
                pars[self.index("r")] = opts.expect_signal
        elif not signal_given and not set_by_hand:
            for poi in self.pois:
                pars[self.index(poi)] = 0.0
        return pars

    def toys(self) -> Iterator[tuple[int, np.ndarray]]:
        """``-t N``: (iToy, dataset) for iToy = 1..N, seeded by (seed, iToy). As
        Combine throws them: by default the constrained nuisances drawn from their
        constraints around the observed global observables, which stay as observed
        (frozen ones stay put); with --toysFrequentist around
        the fit to data with the POIs fixed, the global observables drawn too."""
        frequentist = self.options.toys_frequentist
        _, pars = _asimov(self, self.generation_point(), frequentist)
        for i in range(1, self.options.toys + 1):
            seed = self.options.seed
            if frequentist:
                toy = toy_sampling.sample(self.model, pars, seed=seed, index=i)
            else:
                toy = toy_sampling.sample_prior(
                    self.model, pars, self.built.data, self.bounds, self.fixed,
                    seed=seed, index=i,
                )  # fmt: skip
            yield i, toy


def build(options: CombineOptions) -> Setup:
    """The card's model and data with every parameter option of ``options``."""
    if options.get("floatAllNuisances", False):
        raise OptionError("--floatAllNuisances 1 is not supported by hifit combine")
    poi_map, poi_ranges, poi_order = poi_map_from_options(options)
    built = load_model(
        options.card,
        mass=options.mass,
        poi_map=poi_map,
        poi_range=DEFAULT_POI_RANGE,
        keywords=options.keywords,
    )
    model = built.model
    pois = _signal_pois(options, built, poi_order)
    if pois[0] != model.config.poi_name:
        model = model.with_poi_model(pois[0])
    config = model.config
    names = config.par_names
    init = [float(x) for x in config.suggested_init()]
    bounds = [tuple(map(float, b)) for b in config.suggested_bounds()]
    fixed = [bool(f) for f in config.suggested_fixed()]
    for poi, (start, lo, hi) in poi_ranges.items():
        i = names.index(poi)
        bounds[i] = (lo, hi)
        init[i] = start
    # --rMin/--rMax: the first POI's range, its start at the middle (Combine.cc)
    first = names.index(pois[0])
    lo, hi = bounds[first]
    lo = options.get("rMin", lo)
    hi = options.get("rMax", hi)
    if not lo < hi:
        raise OptionError(f"--rMin {lo} is not below --rMax {hi}")
    if "rMin" in options.extra or "rMax" in options.extra:
        bounds[first] = (lo, hi)
        init[first] = 0.5 * (lo + hi)
    warnings: list[str] = []
    for name, (lo, hi) in _ranges(options.get("setParameterRanges", "")).items():
        for i in _lookup(names, name, "--setParameterRanges", warnings):
            bounds[i] = (lo, hi)
    for name, value in _values(options.get("setParameters", "")).items():
        for i in _lookup(names, name, "--setParameters", warnings):
            lo, hi = bounds[i]
            if not lo <= value <= hi:  # Combine refuses it (utils::setModelParameters)
                msg = (
                    f"--setParameters: parameter {names[i]} value {value:g} is outside "
                    f"its range [{lo:g}, {hi:g}]; use --rMin/--rMax or "
                    "--setParameterRanges to adjust the range"
                )
                raise OptionError(msg)
            init[i] = value
    for i in _frozen(options, built, model, warnings):
        fixed[i] = True
    for poi in pois:  # POIs float unless frozen explicitly (Combine.cc)
        i = names.index(poi)
        fixed[i] = fixed[i] and _explicitly_frozen(options, poi)
    for i, (lo, hi) in enumerate(bounds):
        if not fixed[i]:
            init[i] = min(max(init[i], lo), hi)
    setup = Setup(
        options, built, model, pois, np.asarray(built.data, dtype=float),
        init, bounds, fixed, list(built.notes), warnings,
    )  # fmt: skip
    if options.toys == -1:
        setup.data = asimov(setup)
    return setup


def asimov(setup: Setup) -> np.ndarray:
    """``-t -1``: the Asimov data set at the generation point (POI at
    --expectSignal), a-priori or with --toysFrequentist post-fit."""
    return _asimov(setup, setup.generation_point(), setup.options.toys_frequentist)[0]


def asimov_at(setup: Setup, mu: float, *, frequentist: bool) -> np.ndarray:
    """The Asimov data set with the POI at ``mu`` (other parameters as set)."""
    pars = list(setup.init)
    pars[setup.model.config.poi_index] = mu
    return _asimov(setup, pars, frequentist)[0]


def _asimov(
    setup: Setup, pars: list[float], frequentist: bool
) -> tuple[np.ndarray, list[float]]:
    """(Asimov data, the parameters it was generated at). A-priori: nuisances at
    their values (a gmN at N + 1, as text2workspace starts it), the observed global
    observables; frequentist: nuisances fitted to the data with the POIs fixed,
    global observables at the fitted values (Combine's asimovDatasetWithFit)."""
    fixed = list(setup.fixed)
    for poi in setup.pois:  # Combine fixes every POI for the generating fit
        fixed[setup.index(poi)] = True
    poi = setup.model.config.poi_index
    args = fit_args(setup.model, pars, setup.bounds, fixed)
    data, generating = _core.asimov_data(
        setup.model._model, setup.built.data, float(pars[poi]),
        "postfit" if frequentist else "prefit", *args,
    )  # fmt: skip
    if frequentist and not generating.valid:
        msg = "the fit to data generating the frequentist Asimov data set failed"
        raise FitFailed(msg)
    return np.asarray(data), [float(x) for x in generating.bestfit]


def _signal_pois(
    options: CombineOptions, built: CardModel, order: list[str]
) -> list[str]:
    pois = order or list(built.pois)
    given = options.get("redefineSignalPOIs", "")
    if given:
        names = built.model.config.par_names
        new = [p for p in given.split(",") if p]
        for p in new:
            _par(names, p, "--redefineSignalPOIs")
        pois = new
    return pois


def _par(names: list[str], name: str, option: str) -> int:
    if name in names:
        return names.index(name)
    import difflib

    near = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise OptionError(f"{option}: no parameter named {name!r} in the model{hint}")


def _values(text: str) -> dict[str, float]:
    out = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            msg = f"--setParameters expects NAME=VALUE[,...], found {item!r}"
            raise OptionError(msg)
    return out


def _ranges(text: str) -> dict[str, tuple[float, float]]:
    out = {}
    for item in filter(None, text.split(":")):
        name, _, rest = item.partition("=")
        parts = rest.split(",")
        try:
            lo, hi = (float(x) for x in parts)
        except ValueError:
            msg = f"--setParameterRanges expects NAME=LO,HI[:...], found {item!r}"
            raise OptionError(msg) from None
        if not lo < hi:
            raise OptionError(f"--setParameterRanges {item}: LO must be below HI")
        out[name] = (lo, hi)
    return out


def _constrained(model: Model) -> list[int]:
    return [
        p.offset + k
        for p in model.config.paramsets
        if "unconstrained" not in str(p.constraint)
        for k in range(p.size)
    ]


# Combine's workspaces have MH (constant); binned cards need no such parameter
NO_OP_PARAMETERS = ("MH",)


def _lookup(names: list[str], item: str, option: str, warnings: list[str]) -> list[int]:
    """Indices of a name or rgx{...}/var{...} pattern. An unknown name is skipped
    with a warning, as Combine skips it."""
    m = re.fullmatch(r"(?:rgx|var)\{(.*)\}", item)
    if m:
        try:
            pattern = re.compile(m.group(1))
        except re.error as err:
            msg = f"{option}: bad regular expression {item!r}: {err}"
            raise OptionError(msg) from None
        return [i for i, n in enumerate(names) if pattern.fullmatch(n)]
    if item in names:
        return [names.index(item)]
    if item not in NO_OP_PARAMETERS:
        import difflib

        near = difflib.get_close_matches(item, names, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        warnings.append(f"{option}: no parameter named {item!r}, ignored{hint}")
    return []


def _explicitly_frozen(options: CombineOptions, poi: str) -> bool:
    """POIs float unless --freezeParameters names them (or a pattern matches)."""
    items = [x for x in options.get("freezeParameters", "").split(",") if x]
    items = [x for x in items if x == poi or x.startswith(("rgx{", "var{"))]
    return any(_lookup([poi], x, "--freezeParameters", []) for x in items)


def _frozen(
    options: CombineOptions, built: CardModel, model: Model, warnings: list[str]
) -> set[int]:
    names = model.config.par_names
    out: set[int] = set()
    for item in filter(None, options.get("freezeParameters", "").split(",")):
        if item == "allConstrainedNuisances":
            out.update(_constrained(model))
            continue
        out.update(_lookup(names, item, "--freezeParameters", warnings))
    groups = {g.name: list(g.members) for g in built.card.groups}
    if len(built.card.auto_mc_stats):  # text2workspace's implicit group
        groups.setdefault("autoMCStats", [n for n in names if n.startswith("prop_bin")])
    for item in filter(None, options.get("freezeNuisanceGroups", "").split(",")):
        complement = item.startswith("^")
        group = item.removeprefix("^")
        if group not in groups:
            import difflib

            near = difflib.get_close_matches(group, list(groups), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            known = f" (the card has {', '.join(groups)})" if groups else ""
            msg = f"--freezeNuisanceGroups: unknown nuisance group {group!r}{hint}"
            raise OptionError(msg + ("" if hint else known))
        members = {names.index(n) for n in groups[group] if n in names}
        if complement:
            members = set(_constrained(model)) - members
        out.update(members)
    return out


class FitFailed(RuntimeError):
    """A fit the data set relies on failed (exit 1, named)."""
