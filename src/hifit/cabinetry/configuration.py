"""cabinetry configuration files: loading, validation and lookup helpers.

The API mirrors ``cabinetry.configuration`` so that ``import hifit as cabinetry``
keeps notebooks working: :func:`load`, :func:`validate`, :func:`print_overview`,
:func:`region_dict`, :func:`histogram_is_needed` and the ``*_contains_*`` helpers.

Validation accepts exactly the configs cabinetry's schema accepts (same blocks,
keys, types and list rules, plus exactly one data sample and unique names), with
one deliberate exception taken from upstream cabinetry after 0.6.0: custom
top-level blocks are allowed. Every problem is an :class:`InvalidConfig` whose
message names the file, the key path, what was expected and what was found::

    config.yml: Samples[2].Weight: expected a string, found 3

List indices in key paths start at 0, as in Python.
"""

from __future__ import annotations

import difflib
import logging
import pathlib
from collections.abc import Callable, Mapping
from typing import Any, Literal

import yaml

from ..exceptions import HifitError
from ..input_files import read_utf8

__all__ = [
    "InvalidConfig",
    "histogram_is_needed",
    "load",
    "print_overview",
    "region_contains_modifier",
    "region_contains_sample",
    "region_dict",
    "sample_contains_modifier",
    "sample_dict",
    "validate",
]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

# Name used in messages when a config dict did not come from a file.
_NO_FILE = "<config>"


class InvalidConfig(HifitError):
    """A cabinetry configuration that cannot be parsed or breaks the schema."""


# --- describing values in messages -------------------------------------------------


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _found(value: Any) -> str:
    """How a wrong value is shown after 'found' (YAML spelling where it differs)."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        keys = ", ".join(str(k) for k in value) or "no keys"
        return _short(f"a mapping (keys: {keys})")
    if isinstance(value, list):
        return "an empty list" if not value else _short(f"a list {value!r}")
    return _short(repr(value))


def _n_entries(n: int) -> str:
    return "1 entry" if n == 1 else f"{n} entries"


def _key_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


class _Problem(Exception):
    """A rule broken at a key path; turned into InvalidConfig once the file is known."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)


def _expected(path: str, expected: str, value: Any) -> _Problem:
    return _Problem(path, f"expected {expected}, found {_found(value)}")


# --- the schema, as a small table of rules ----------------------------------------


def _json_identity(value: Any) -> Any:
    """A hashable form under which JSON-equal values are equal.

    JSON Schema's uniqueItems treats 1 and 1.0 as equal but true and 1 as distinct,
    unlike Python's ==, so values are tagged by JSON type first.
    """
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)  # 1 == 1.0 with equal hashes, as JSON wants
    if isinstance(value, list):
        return ("list", tuple(_json_identity(v) for v in value))
    if isinstance(value, Mapping):
        return ("map", frozenset((k, _json_identity(v)) for k, v in value.items()))
    return (type(value).__name__, value)


class _Scalar:
    """A string, number or boolean, optionally restricted to a few choices."""

    def __init__(
        self,
        expected: str,
        has_type: Callable[[Any], bool],
        choices: tuple[str, ...] = (),
    ) -> None:
        self.expected = expected
        self.has_type = has_type
        self.choices = choices

    def check(self, value: Any, path: str) -> None:
        if not self.has_type(value):
            raise _expected(path, self.expected, value)
        if self.choices and value not in self.choices:
            options = " or ".join(repr(c) for c in self.choices)
            raise _expected(path, options, value)


class _ListOf:
    """A YAML list whose entries all follow one rule."""

    def __init__(
        self,
        item: _Rule,
        expected: str,
        *,
        min_items: int = 0,
        max_items: int | None = None,
        unique: bool = False,
    ) -> None:
        self.item = item
        self.expected = expected
        self.min_items = min_items
        self.max_items = max_items
        self.unique = unique

    @staticmethod
    def has_type(value: Any) -> bool:
        return isinstance(value, list)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise _expected(path, self.expected, value)
        self._check_length(value, path)
        for i, entry in enumerate(value):
            self.item.check(entry, f"{path}[{i}]")
        if self.unique:
            self._check_unique(value, path)

    def _check_length(self, value: list[Any], path: str) -> None:
        n = len(value)
        if self.max_items is not None and self.max_items == self.min_items:
            if n != self.min_items:
                raise _Problem(
                    path, f"expected exactly {_n_entries(self.min_items)}, found {n}"
                )
        elif n < self.min_items:
            raise _Problem(
                path, f"expected at least {_n_entries(self.min_items)}, found {n}"
            )
        elif self.max_items is not None and n > self.max_items:
            raise _Problem(
                path, f"expected at most {_n_entries(self.max_items)}, found {n}"
            )

    @staticmethod
    def _check_unique(value: list[Any], path: str) -> None:
        first_index: dict[Any, int] = {}
        for i, entry in enumerate(value):
            j = first_index.setdefault(_json_identity(entry), i)
            if j == i:
                continue
            if isinstance(entry, Mapping | list):
                found = f"a copy of {path}[{j}]"
            else:
                found = f"{_found(entry)} again (as in {path}[{j}])"
            raise _Problem(f"{path}[{i}]", f"expected unique entries, found {found}")


class _Either:
    """One of two rules that differ by YAML type (a string or a list of strings)."""

    def __init__(self, *options: _Rule) -> None:
        self.options = options
        self.expected = " or ".join(o.expected for o in options)

    def has_type(self, value: Any) -> bool:
        return any(o.has_type(value) for o in self.options)

    def check(self, value: Any, path: str) -> None:
        for option in self.options:
            if option.has_type(value):
                option.check(value, path)
                return
        raise _expected(path, self.expected, value)


class _Block:
    """A mapping with known keys; unknown keys are errors unless ``allow_unknown``."""

    expected = "a mapping of settings"

    def __init__(
        self,
        fields: dict[str, _Rule],
        required: tuple[str, ...] = (),
        *,
        allow_unknown: bool = False,
    ) -> None:
        self.fields = fields
        self.required = required
        self.allow_unknown = allow_unknown

    @staticmethod
    def has_type(value: Any) -> bool:
        return isinstance(value, Mapping)

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise _expected(path, self.expected, value)
        if not self.allow_unknown:
            self._check_known_keys(value, path)
        for key in self.required:
            if key not in value:
                raise _Problem(path, f"missing required key {key!r}")
        for key, rule in self.fields.items():
            if key in value:
                rule.check(value[key], _key_path(path, key))

    def _check_known_keys(self, value: Mapping[Any, Any], path: str) -> None:
        for key in value:
            if key in self.fields:
                continue
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(str(key), list(self.fields), n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            message += f"; allowed keys: {', '.join(self.fields)}"
            raise _Problem(path, message)


_Rule = _Scalar | _ListOf | _Either | _Block

_STRING = _Scalar("a string", lambda v: isinstance(v, str))
# JSON numbers: YAML ints and floats, but not booleans (a bool is an int in Python).
_NUMBER = _Scalar(
    "a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool)
)
_BOOL = _Scalar("true or false", lambda v: isinstance(v, bool))
_STRINGS = _Either(
    _STRING, _ListOf(_STRING, "a list of strings", min_items=1, unique=True)
)


def _enum(*choices: str) -> _Scalar:
    return _Scalar("a string", lambda v: isinstance(v, str), choices)


_TEMPLATE = _Block(
    {
        "Tree": _STRING,
        "Weight": _STRING,
        "Variable": _STRING,
        "Filter": _STRING,
        "RegionPath": _STRING,
        "SamplePath": _STRINGS,
        "Normalization": _NUMBER,
        "Symmetrize": _BOOL,
        "VariationPath": _STRING,
    }
)

_SMOOTHING = _Block(
    {"Algorithm": _enum("353QH, twice"), "Regions": _STRINGS, "Samples": _STRINGS},
    required=("Algorithm",),
)

_FIXED = _Block({"Name": _STRING, "Value": _NUMBER}, required=("Name", "Value"))

_GENERAL = _Block(
    {
        "Measurement": _STRING,
        "POI": _STRING,
        "InputPath": _STRING,
        "HistogramFolder": _STRING,
        "Fixed": _ListOf(
            _FIXED, "a list of fixed parameters", min_items=1, unique=True
        ),
        "VariationPath": _STRING,
        # hifit's own: templates as ROOT files instead of cabinetry's .npz
        "TemplateFormat": _enum("npz", "root"),
    },
    required=("Measurement", "InputPath", "HistogramFolder"),
)

# Regions and Samples only need a Name: the ntuple keys (Variable, Binning, Tree)
# are optional in the schema, since histogram inputs do without them.
_REGION = _Block(
    {
        "Name": _STRING,
        "Variable": _STRING,
        "Binning": _ListOf(_NUMBER, "a list of bin edges", min_items=2, unique=True),
        "Filter": _STRING,
        "RegionPath": _STRING,
    },
    required=("Name",),
)

_SAMPLE = _Block(
    {
        "Name": _STRING,
        "Tree": _STRING,
        "Filter": _STRING,
        "Weight": _STRING,
        "SamplePath": _STRINGS,
        "Data": _BOOL,
        "DisableStaterror": _BOOL,
        "Regions": _STRINGS,
    },
    required=("Name",),
)

_NORMFACTOR = _Block(
    {
        "Name": _STRING,
        "Regions": _STRINGS,
        "Samples": _STRINGS,
        "Nominal": _NUMBER,
        "Bounds": _ListOf(
            _NUMBER, "a [lower, upper] pair", min_items=2, max_items=2, unique=True
        ),
    },
    required=("Name",),
)

_SYSTEMATIC = _Block(
    {
        "Name": _STRING,
        "Type": _enum("Normalization", "NormPlusShape"),
        "Up": _TEMPLATE,
        "Down": _TEMPLATE,
        "Regions": _STRINGS,
        "Samples": _STRINGS,
        "Smoothing": _SMOOTHING,
        "ModifierName": _STRING,
    },
    required=("Name", "Type", "Up", "Down"),
)

# Top level: open, so analyses may keep their own blocks in the same file.
_CONFIG = _Block(
    {
        "General": _GENERAL,
        "Regions": _ListOf(_REGION, "a list of regions", min_items=1, unique=True),
        "Samples": _ListOf(_SAMPLE, "a list of samples", min_items=1, unique=True),
        "NormFactors": _ListOf(
            _NORMFACTOR, "a list of normalization factors", min_items=1, unique=True
        ),
        "Systematics": _ListOf(_SYSTEMATIC, "a list of systematics", unique=True),
    },
    required=("General", "Regions", "Samples", "NormFactors"),
    allow_unknown=True,
)

_NAMED_BLOCKS = ("Regions", "Samples", "NormFactors", "Systematics")


# --- checks beyond the schema ------------------------------------------------------


def _check_one_data_sample(config: Mapping[str, Any]) -> None:
    data_names = [s["Name"] for s in config["Samples"] if s.get("Data", False)]
    if len(data_names) != 1:
        found = f"{len(data_names)} ({', '.join(data_names)})" if data_names else "none"
        raise _Problem(
            "Samples", f"expected exactly one sample with 'Data: true', found {found}"
        )


def _check_unique_names(config: Mapping[str, Any]) -> None:
    for block in _NAMED_BLOCKS:
        first_index: dict[str, int] = {}
        for i, entry in enumerate(config.get(block, [])):
            j = first_index.setdefault(entry["Name"], i)
            if j != i:
                raise _Problem(
                    f"{block}[{i}].Name",
                    f"expected a unique name, found {entry['Name']!r} again "
                    f"(already used by {block}[{j}])",
                )


def _check(config: Any) -> None:
    _CONFIG.check(config, "")
    _check_one_data_sample(config)
    _check_unique_names(config)


# --- public API --------------------------------------------------------------------


def validate(config: Mapping[str, Any], *, source: str = _NO_FILE) -> bool:
    """Return True if ``config`` is a valid cabinetry configuration.

    Raises :class:`InvalidConfig` naming ``source`` (the file name, if any), the
    key path, what was expected and what was found.
    """
    try:
        _check(config)
    except _Problem as problem:
        raise InvalidConfig(f"{source}: {problem}") from None
    return True


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, warning about repeated keys.

    YAML silently keeps the last of two equal keys, so a second ``Systematics:``
    block would quietly replace the first one.
    """

    source = _NO_FILE

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(
                ":merge"
            ):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                line = key_node.start_mark.line + 1
                log.warning(
                    "%s:%d: key %r appears twice in one mapping; only the last value "
                    "is used",
                    self.source,
                    line,
                    key,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_error_message(err: yaml.MarkedYAMLError, source: str) -> str:
    """``file:line:column: invalid YAML: problem (context from line n)``."""
    mark = err.problem_mark or err.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    message = f"{where}: invalid YAML: {err.problem or err.context}"
    # PyYAML's context ("while parsing a block mapping") points at the block that
    # contains the problem, which helps with indentation mistakes.
    if err.problem and err.context:
        message += f" ({err.context}"
        if err.context_mark and err.context_mark is not mark:
            message += f" starting at line {err.context_mark.line + 1}"
        message += ")"
    return message


MAX_NESTING = 64  # a cabinetry config needs about 5 levels


def _nesting_depth(text: str) -> int:
    """The deepest flow nesting (``[``/``{``) or indentation level, bounding what
    PyYAML's recursive composer would have to descend (comments and quoted text
    only make this an overestimate)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    indents = (len(line) - len(line.lstrip(" -")) for line in text.splitlines())
    return max(deepest, max(indents, default=0) // 2)


def _parse_yaml(text: str, source: str) -> Any:
    if _nesting_depth(text) > MAX_NESTING:
        raise InvalidConfig(
            f"{source}: invalid YAML: nested deeper than {MAX_NESTING} levels"
        )
    loader = _Loader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as err:
        raise InvalidConfig(_yaml_error_message(err, source)) from None
    except yaml.YAMLError as err:
        raise InvalidConfig(f"{source}: invalid YAML: {err}") from None
    except RecursionError:  # aliases can nest without brackets or indentation
        raise InvalidConfig(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def load(file_path_string: str | pathlib.Path) -> dict[str, Any]:
    """Read a cabinetry YAML config, validate it and return it as a dict."""
    file_path = pathlib.Path(file_path_string)
    log.info("opening config file %s", file_path)
    text = read_utf8(file_path, "a YAML config")
    config = _parse_yaml(text, str(file_path))
    validate(config, source=str(file_path))
    return config


def print_overview(config: Mapping[str, Any]) -> None:
    """Log how many samples, regions, normfactors and systematics ``config`` has."""
    # The wording follows cabinetry's log output, typo included, so that logs and
    # notebook outputs look the same with either package.
    log.info("the config contains:")
    log.info("  %d Sample(s)", len(config["Samples"]))
    log.info("  %d Regions(s)", len(config["Regions"]))
    log.info("  %d NormFactor(s)", len(config["NormFactors"]))
    if "Systematics" in config:
        log.info("  %d Systematic(s)", len(config["Systematics"]))


# --- membership helpers ------------------------------------------------------------


def _setting_to_list(setting: str | list[str]) -> list[str]:
    """``Regions``/``Samples`` settings may be one name or a list of names."""
    return setting if isinstance(setting, list) else [setting]


def _x_contains_y(x: Mapping[str, Any], y: Mapping[str, Any], y_key: str) -> bool:
    """Whether ``x`` (by its Name) is among the names listed under ``y[y_key]``.

    A missing or empty ``y_key`` setting means "all", as in cabinetry.
    """
    names = _setting_to_list(y.get(y_key, []))
    return not names or x["Name"] in names


def region_contains_sample(
    region: Mapping[str, Any], sample: Mapping[str, Any]
) -> bool:
    """Whether ``sample`` enters ``region`` (samples enter all regions by default)."""
    return _x_contains_y(region, sample, "Regions")


def region_contains_modifier(
    region: Mapping[str, Any], modifier: Mapping[str, Any]
) -> bool:
    """Whether a Systematic or NormFactor acts in ``region`` (all by default).

    Like cabinetry, this does not look at which samples the region contains.
    """
    return _x_contains_y(region, modifier, "Regions")


def sample_contains_modifier(
    sample: Mapping[str, Any], modifier: Mapping[str, Any]
) -> bool:
    """Whether a Systematic or NormFactor acts on ``sample`` (all by default)."""
    return _x_contains_y(sample, modifier, "Samples")


def _variation_histogram_is_needed(
    region: Mapping[str, Any],
    sample: Mapping[str, Any],
    systematic: Mapping[str, Any],
    template: Literal["Up", "Down"],
) -> bool:
    kind = systematic["Type"]
    if kind == "Normalization":
        return False  # a constant factor, taken from the config, not a histogram
    if kind != "NormPlusShape":
        raise InvalidConfig(f"unknown systematics type: {kind}")
    affected = region_contains_modifier(region, systematic) and (
        sample_contains_modifier(sample, systematic)
    )
    # A symmetrized template is built later by mirroring the other one.
    mirrored = systematic.get(template, {}).get("Symmetrize", False)
    return affected and not mirrored


def histogram_is_needed(
    region: Mapping[str, Any],
    sample: Mapping[str, Any],
    systematic: Mapping[str, Any],
    template: Literal["Up", "Down"] | None,
) -> bool:
    """Whether a template histogram must be built or collected.

    ``template`` is "Up" or "Down" for a systematic variation, None for nominal
    (``systematic`` is then ignored). Data only ever needs its nominal histogram.
    """
    if not region_contains_sample(region, sample):
        return False
    if template is None:
        return True
    if sample.get("Data", False):
        return False
    return _variation_histogram_is_needed(region, sample, systematic, template)


def _named_entry(config: Mapping[str, Any], block: str, name: str) -> dict[str, Any]:
    matches = [entry for entry in config[block] if entry["Name"] == name]
    if not matches:
        known = ", ".join(repr(entry["Name"]) for entry in config[block])
        singular = block[:-1].lower()
        raise InvalidConfig(
            f"{singular} {name} not found in config (known: {known or 'none'})"
        )
    if len(matches) > 1:
        log.error("found more than one %s with name %s", block[:-1].lower(), name)
    return matches[0]


def region_dict(config: Mapping[str, Any], region_name: str) -> dict[str, Any]:
    """The ``Regions`` entry named ``region_name`` (InvalidConfig if missing)."""
    return _named_entry(config, "Regions", region_name)


def sample_dict(config: Mapping[str, Any], sample_name: str) -> dict[str, Any]:
    """The ``Samples`` entry named ``sample_name`` (InvalidConfig if missing)."""
    return _named_entry(config, "Samples", sample_name)


def _input_is_ntuple(config: Mapping[str, Any]) -> bool:
    """Whether templates come from ntuples: every sample names its ``Tree``.

    Otherwise the inputs are histograms (``templates.collect`` instead of ``build``).
    """
    return all("Tree" in sample for sample in config["Samples"])
