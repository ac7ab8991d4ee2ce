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
        model = Model(self.model._model.with_poi(name))
        pois = [name] + [p for p in self.pois if p != name]
        return Setup(
            self.options, self.built, model, pois, self.data,
            self.init, self.bounds, self.fixed, self.notes,
        )  # fmt: skip

    def generation_point(self) -> list[float]:
        """Parameters toys and the Asimov data set are generated at: the POI at
        --expectSignal (Combine sets ``r`` to it), the rest as set."""
        pars = list(self.init)
        if "r" in self.pois or not self.options.get("setParameters"):
            pars[self.model.config.poi_index] = self.options.expect_signal
        return pars

    def toys(self) -> Iterator[tuple[int, np.ndarray]]:
        """``-t N``: (iToy, dataset) for iToy = 1..N, seeded by (seed, iToy)."""
        pars = self.generation_point()
        if self.options.toys_frequentist:
            pars = _frequentist_point(self, pars)
        for i in range(1, self.options.toys + 1):
            yield (
                i,
                toy_sampling.sample(self.model, pars, seed=self.options.seed, index=i),
            )


def build(options: CombineOptions) -> Setup:
    """The card's model and data with every parameter option of ``options``."""
    poi_map, poi_ranges = poi_map_from_options(options)
    built = load_model(
        options.card,
        mass=options.mass,
        poi_map=poi_map,
        poi_range=DEFAULT_POI_RANGE,
        keywords=options.keywords,
    )
    model = built.model
    pois = _signal_pois(options, built)
    if pois[0] != model.config.poi_name:
        model = Model(model._model.with_poi(pois[0]))
    config = model.config
    names = config.par_names
    init = [float(x) for x in config.suggested_init()]
    bounds = [tuple(map(float, b)) for b in config.suggested_bounds()]
    fixed = [bool(f) for f in config.suggested_fixed()]
    for poi, (lo, hi) in poi_ranges.items():
        i = names.index(poi)
        bounds[i] = (lo, hi)
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
    for name, (lo, hi) in _ranges(options.get("setParameterRanges", "")).items():
        bounds[_par(names, name, "--setParameterRanges")] = (lo, hi)
    for name, value in _values(options.get("setParameters", "")).items():
        i = _par(names, name, "--setParameters")
        init[i] = value
    for i in _frozen(options, built, model):
        fixed[i] = True
    for poi in pois:  # POIs float unless frozen explicitly (Combine.cc)
        i = names.index(poi)
        fixed[i] = fixed[i] and _explicitly_frozen(options, poi)
    for i, (lo, hi) in enumerate(bounds):
        if not fixed[i]:
            init[i] = min(max(init[i], lo), hi)
    setup = Setup(
        options, built, model, pois, np.asarray(built.data, dtype=float),
        init, bounds, fixed, list(built.notes),
    )  # fmt: skip
    if options.toys == -1:
        setup.data = asimov(setup)
    return setup


def asimov(setup: Setup) -> np.ndarray:
    """``-t -1``: the Asimov data set at the generation point (POI at
    --expectSignal), a-priori or with --toysFrequentist post-fit."""
    pars = setup.generation_point()
    return _asimov(setup, pars, setup.options.toys_frequentist)


def asimov_at(setup: Setup, mu: float, *, frequentist: bool) -> np.ndarray:
    """The Asimov data set with the POI at ``mu`` (other parameters as set)."""
    pars = list(setup.init)
    pars[setup.model.config.poi_index] = mu
    return _asimov(setup, pars, frequentist)


def _asimov(setup: Setup, pars: list[float], frequentist: bool) -> np.ndarray:
    """A-priori: nuisances at their values, the observed global observables;
    frequentist: nuisances fitted to data with the POIs fixed, the global
    observables at the fitted values (Combine's asimovDatasetWithFit)."""
    if frequentist:
        pars = _frequentist_point(setup, pars)
        return setup.model.expected_data(pars)
    expected = setup.model.expected_data(pars, include_auxdata=False)
    return np.concatenate([expected, setup.built.data[len(expected) :]])


def _frequentist_point(setup: Setup, pars: list[float]) -> list[float]:
    from ..infer import fit

    fixed = list(setup.fixed)
    for poi in setup.pois:
        fixed[setup.index(poi)] = True
    best = fit(setup.built.data, setup.model, pars, setup.bounds, fixed)
    if not best.valid:
        msg = f"the fit to data generating the frequentist toys failed: {best.status}"
        raise RuntimeError(msg)
    return [float(x) for x in best.bestfit]


def _signal_pois(options: CombineOptions, built: CardModel) -> list[str]:
    pois = list(built.pois)
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
        if str(p.constraint).split(".")[-1] != "none"
        for k in range(p.size)
    ]


def _expand(item: str, names: list[str], option: str) -> list[str]:
    """A name, or rgx{...}/var{...} matched against every parameter name."""
    m = re.fullmatch(r"(?:rgx|var)\{(.*)\}", item)
    if not m:
        _par(names, item, option)
        return [item]
    try:
        pattern = re.compile(m.group(1))
    except re.error as err:
        raise OptionError(f"{option}: bad regular expression {item!r}: {err}") from None
    return [n for n in names if pattern.fullmatch(n)]


def _explicitly_frozen(options: CombineOptions, poi: str) -> bool:
    """POIs float unless --freezeParameters names them (or a pattern matches)."""
    items = [x for x in options.get("freezeParameters", "").split(",") if x]
    items = [x for x in items if x == poi or x.startswith(("rgx{", "var{"))]
    return any(poi in _expand(x, [poi], "--freezeParameters") for x in items)


def _frozen(options: CombineOptions, built: CardModel, model: Model) -> set[int]:
    names = model.config.par_names
    out: set[int] = set()
    for item in filter(None, options.get("freezeParameters", "").split(",")):
        if item == "allConstrainedNuisances":
            out.update(_constrained(model))
            continue
        out.update(names.index(n) for n in _expand(item, names, "--freezeParameters"))
    groups = {g.name: list(g.members) for g in built.card.groups}
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


_ = _core  # the C++ Model.with_poi lives there
