"""Combine's command line: ``combine CARD -M METHOD [options]`` parsed as
boost::program_options parses it (``--name value``, ``--name=value``, ``-m 125``,
``-m125``, values that start with a dash such as ``-t -1``), into
:class:`CombineOptions`. Option names, kinds and defaults are Combine's
(:mod:`._option_table`); unknown options are refused with the nearest names."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from ._option_table import COMMON, METHOD

DEFAULT_METHOD = "AsymptoticLimits"  # Combine's default -M
DEFAULT_SEED = 123456

# Options that only tune Combine's own machinery (minimizer, caching, ROOT, memory
# profiling, run-time defines) or name workspace objects: accepted, no effect.
IGNORED = frozenset(
    {
        "verbose",
        "X-rtd",
        "X-fpeMask",
        "LoadLibrary",
        "igpMem",
        "perfCounters",
        "optimizeSimPdf",
        "rebuildSimPdf",
        "compile",
        "tempDir",
        "noMCbonly",
        "noDefaultPrior",
        "workspaceName",
        "modelConfigName",
        "modelConfigNameB",
        "dataMapName",
        "freezeAllGlobalObs",
        "validateModel",
        "guessGenMode",
        "genBinnedChannels",
        "genUnbinnedChannels",
        "generateBinnedWorkaround",
        "bypassFrequentistFit",
        "setRobustFitAlgo",
        "setRobustFitStrategy",
        "setRobustFitTolerance",
        "setCrossingTolerance",
        "robustFit",
        "robustHesse",
        "maxFailedSteps",
        "stepSize",
        "keepFailures",
        "protectUnbinnedChannels",
        "forceRecreateNLL",
        "nllbackend",
        "rAbsAcc",
        "rRelAcc",
        "picky",
        "newExpected",
        "minosAlgo",
        "tries",
        "maxTries",
        "maxRelDeviation",
        "maxOutlierFraction",
        "maxOutliers",
        "useMinos",
        "usePLC",
        "preFit",
        "trackParameters",
        "trackErrors",
        "hintStatOnly",
        "skipDefaultStart",
        "startFromPreFit",
        "skipInitialFit",
        "preFitValue",
        *(name for name in COMMON if name.startswith("cmin")),
    }
)

# Common options whose feature hifit does not have: refused rather than ignored.
UNSUPPORTED = frozenset(
    {
        "pickToy",
        "hintMethod",
        "dataset",
        "toysFile",
        "unbinned",
        "saveToys",
        "saveWorkspace",
        "snapshotName",
        "overrideSnapshotMass",
        "prior",
        "expectSignalMass",
        "defineBackgroundOnlyModelParameters",
        "freezeWithAttributes",
        "floatParameters",
        "toysNoSystematics",
        "text2workspace",
        "massName",
        "toyName",
        "lowerLimit",
        "significance",
    }
)

_BOOL = {"1": True, "true": True, "yes": True, "on": True,
         "0": False, "false": False, "no": False, "off": False}  # fmt: skip


class OptionError(ValueError):
    """A command line Combine would refuse (one line, exit 2)."""


@dataclass
class CombineOptions:
    """One ``combine`` command line. Fields are the options every method reads;
    ``extra`` holds every other option given, by Combine's long name (flags as True,
    typed values, repeatable options as lists)."""

    card: str
    method: str = DEFAULT_METHOD
    mass: float = 120.0
    name: str = "Test"
    seed: int = DEFAULT_SEED
    toys: int = 0  # -t: 0 = data, -1 = Asimov, N = N toys
    toys_frequentist: bool = False
    expect_signal: float = 0.0
    cl: float = 0.95
    run: str = "both"  # AsymptoticLimits --run
    algo: str = "none"  # MultiDimFit --algo
    points: int = 50  # MultiDimFit --points
    extra: dict[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()  # the options given (long names)

    def get(self, key: str, default: Any = None) -> Any:
        return self.extra.get(key, default)

    @property
    def keywords(self) -> dict[str, str]:
        """``--keyword-value WORD=VALUE`` substitutions, in the order given."""
        return dict(_keyword(item) for item in self.extra.get("keyword-value", []))

    def output_name(self) -> str:
        """``higgsCombine<name>.<Method>.mH<mass>[.<WORD><VALUE>][.<seed>].root``."""
        mass = f"mH{_float32(self.mass):g}."
        mass += "".join(f"{w}{v}." for w, v in self.keywords.items())
        toy = (
            f"{self.seed}."
            if self.toys > 0 or self.seed != DEFAULT_SEED or "saveToys" in self.extra
            else ""
        )
        return f"higgsCombine{self.name}.{self.method}.{mass}{toy}root"

    def ignored(self) -> list[str]:
        """The options given that have no effect in hifit."""
        return [name for name in self.extra if name in IGNORED]


def _float32(value: float) -> float:
    # Combine stores -m as a float: mH125.38 prints as 125.38, not 125.38000488
    import numpy as np

    return float(f"{np.float32(value):g}")


def _keyword(item: str) -> tuple[str, str]:
    word, sep, value = item.partition("=")
    if not sep or not word:
        msg = f"--keyword-value expects WORD=VALUE, found {item!r}"
        raise OptionError(msg)
    return word, value


def _table(method: str) -> tuple[dict[str, str], dict[str, str]]:
    """(long name -> kind, short letter -> long name) for a method."""
    kinds: dict[str, str] = {}
    short: dict[str, str] = {}
    for spec, kind in {**COMMON, **METHOD.get(method, {})}.items():
        long, _, letter = spec.partition(",")
        kinds[long] = kind
        if letter:
            short[letter] = long
    return kinds, short


def _convert(name: str, kind: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return _BOOL[text.lower()]
    except (ValueError, KeyError):
        msg = f"--{name}: invalid {kind} value {text!r}"
        raise OptionError(msg) from None
    return text


def _unknown(name: str, method: str, kinds: dict[str, str]) -> OptionError:
    owners = [m for m, table in METHOD.items() if any(
        spec.partition(",")[0] == name for spec in table)]  # fmt: skip
    if owners:
        return OptionError(
            f"--{name} is an option of -M {'/'.join(owners)}, not of -M {method}"
        )
    near = difflib.get_close_matches(name, list(kinds), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join('--' + n for n in near)}?" if near else ""
    return OptionError(f"unrecognised option '--{name}'{hint}")


def _method_of(argv: list[str]) -> str:
    method = DEFAULT_METHOD
    for i, token in enumerate(argv):
        if token in ("-M", "--method") and i + 1 < len(argv):
            method = argv[i + 1]
        elif token.startswith("--method="):
            method = token.split("=", 1)[1]
        elif token.startswith("-M") and len(token) > 2 and not token.startswith("--"):
            method = token[2:]
    return method


def parse(argv: list[str], methods: list[str] | None = None) -> CombineOptions:
    """Combine's argv (without the program name) as :class:`CombineOptions`.

    ``methods``: the methods hifit implements (others are refused by name);
    default: every method Combine has."""
    method = _method_of(argv)
    methods = list(METHOD) if methods is None else methods
    if method not in methods:
        near = difflib.get_close_matches(method, methods, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]}?" if near else ""
        msg = f"unsupported method '{method}' (hifit has {', '.join(methods)}){hint}"
        raise OptionError(msg)
    kinds, short = _table(method)
    given: dict[str, Any] = {}
    cards: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            cards.extend(argv[i:])
            break
        if token.startswith("--"):
            name, eq, value = token[2:].partition("=")
            if name not in kinds:
                raise _unknown(name, method, kinds)
            inline = value if eq else None
        elif token.startswith("-") and len(token) > 1:
            letter, rest = token[1], token[2:]
            if letter not in short:
                raise OptionError(f"unrecognised option '-{letter}'")
            name = short[letter]
            inline = rest.removeprefix("=") if rest else None
        else:
            cards.append(token)
            continue
        kind = kinds[name]
        if kind == "flag":
            if inline is not None:
                raise OptionError(f"--{name} takes no value, found {inline!r}")
            given[name] = True
            continue
        if inline is None:
            if i >= len(argv):
                raise OptionError(f"--{name} expects a value")
            inline = argv[i]
            i += 1
        if kind == "multi":
            given.setdefault(name, []).append(inline)
        elif name in given and name != "method":
            raise OptionError(f"--{name} given more than once")
        else:
            given[name] = _convert(name, kind, inline)
    if "datacard" in given:
        cards.insert(0, given.pop("datacard"))
    if len(cards) != 1:
        raise OptionError(
            "missing datacard file" if not cards else
            f"one datacard expected, found {len(cards)}: {' '.join(cards)}"
        )  # fmt: skip
    refused = sorted(set(given) & UNSUPPORTED)
    if refused:
        raise OptionError(f"--{refused[0]} is not supported by hifit combine")
    return _options(cards[0], method, given)


def describe(argv: list[str]) -> str:
    """The options of the method ``argv`` names (Combine's --help, in short)."""
    method = _method_of(argv)
    kinds, _ = _table(method)
    lines = [f"\nOptions of -M {method} (Combine's names; * no effect in hifit, "
             "- refused):"]  # fmt: skip
    for name, kind in sorted(kinds.items(), key=lambda item: item[0].lower()):
        mark = "*" if name in IGNORED else "-" if name in UNSUPPORTED else " "
        value = "" if kind == "flag" else f" {kind.upper()}"
        lines.append(f" {mark} --{name}{value}")
    return "\n".join(lines)


def _options(card: str, method: str, given: dict[str, Any]) -> CombineOptions:
    fields = {
        "mass": "mass", "name": "name", "seed": "seed", "toys": "toys",
        "toysFrequentist": "toys_frequentist", "expectSignal": "expect_signal",
        "cl": "cl", "run": "run", "algo": "algo", "points": "points",
    }  # fmt: skip
    explicit = frozenset(given)
    values = {fields[k]: given.pop(k) for k in list(given) if k in fields}
    given.pop("method", None)
    opts = CombineOptions(
        card=card, method=method, **values, extra=given, explicit=explicit
    )
    if opts.seed == -1:  # Combine: a truly random seed
        opts.seed = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    if opts.toys < -1:
        raise OptionError(f"-t {opts.toys}: expected -1 (Asimov), 0 (data) or N > 0")
    if not 0.0 < opts.cl < 1.0:
        raise OptionError(f"--cl {opts.cl}: expected a confidence level in (0, 1)")
    if opts.run not in ("both", "observed", "expected", "blind"):
        raise OptionError(
            f"--run {opts.run!r}: expected both, observed, expected or blind"
        )
    if opts.algo not in ("none", "singles", "grid", "fixed", "cross", "contour2d",
                         "random", "impact", "saturated", "KS", "AD"):  # fmt: skip
        raise OptionError(f"--algo {opts.algo!r}: unknown algorithm")
    if opts.points < 1:
        raise OptionError(f"--points {opts.points}: expected at least 1")
    opts.keywords  # noqa: B018  (validates --keyword-value early)
    return opts
