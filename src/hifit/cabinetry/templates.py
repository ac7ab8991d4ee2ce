"""Template histograms of a cabinetry config: build, collect, post-process, load.

Same API and rules as ``cabinetry.templates``:

* :func:`build` fills histograms from ROOT ntuples (uproot + boost-histogram), in
  parallel on threads or a Dask cluster (:mod:`.templates_fill`: file × entry-range
  units, partial histograms added in a fixed order), or through user functions
  registered on a :class:`.route.Router`;
* :func:`collect` reads existing histograms from ROOT files;
* :func:`postprocess` replaces NaN stat. uncertainties by 0, applies the configured
  smoothing and writes ``_modified`` copies;
* :func:`load_template` returns ``(yields, stdev, bins)`` of one template, preferring
  the post-processed copy.

Which templates exist follows ``configuration.histogram_is_needed``. Each template is
stored in ``General.HistogramFolder`` as cabinetry stores it, ``{Region}_{Sample}.npz``
and ``{Region}_{Sample}_{Systematic}_{Up|Down}.npz`` (spaces become ``-``), or as a
ROOT file with one TH1D of that name when ``General.TemplateFormat`` is ``root`` (see
:mod:`.template_files`).
"""

from __future__ import annotations

import functools
import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from .. import root_input
from . import configuration, route, smooth, template_files, templates_fill
from .templates_fill import TemplateInputError

__all__ = ["TemplateInputError", "build", "collect", "load_template", "postprocess"]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

TemplateName = Literal["Up", "Down"] | None
Dict = dict[str, Any]


# --- settings of one template -------------------------------------------------------


def _setting(
    nominal: Any, systematic: Mapping[str, Any], template: TemplateName, option: str
) -> Any:
    """``nominal``, unless the Up/Down block of ``systematic`` overrides ``option``."""
    if template is None:
        return nominal
    override = systematic.get(template, {}).get(option)
    return nominal if override is None else override


def _check_placeholder(path: str, key: str, value: Any, owner: str, name: str) -> None:
    """A value without its placeholder warns; a placeholder without a value raises."""
    placeholder = "{" + key + "}"
    if value is None and placeholder in path:
        raise ValueError(f"no path setting found for {owner} {name}")
    if value is not None and placeholder not in path:
        log.warning(
            "%s override specified, but %s not found in default path",
            owner,
            placeholder,
        )


def _fill(path: str, key: str, value: str | None) -> str:
    return path if value is None else path.replace("{" + key + "}", value)


def _ntuple_paths(
    general_path: str, region: Dict, sample: Dict, systematic: Dict, template: Any
) -> list[pathlib.Path]:
    """One path per ``SamplePath`` entry, placeholders filled (overrides first)."""
    region_path = _setting(region.get("RegionPath"), systematic, template, "RegionPath")
    sample_paths = _setting(
        sample.get("SamplePath"), systematic, template, "SamplePath"
    )
    _check_placeholder(
        general_path, "RegionPath", region_path, "region", region["Name"]
    )
    path = _fill(general_path, "RegionPath", region_path)
    _check_placeholder(path, "SamplePath", sample_paths, "sample", sample["Name"])
    if sample_paths is None:
        return [pathlib.Path(path)]
    return [
        pathlib.Path(_fill(path, "SamplePath", entry))
        for entry in configuration._setting_to_list(sample_paths)
    ]


def _filter(region: Dict, sample: Dict, systematic: Dict, template: Any) -> str | None:
    """The selection: systematic overrides sample, which overrides region (no AND)."""
    selection = region.get("Filter")
    if sample.get("Filter") is not None:
        selection = sample["Filter"]
    return _setting(selection, systematic, template, "Filter")


def _binning(region: Dict) -> np.ndarray:
    if not region.get("Binning", False):
        raise NotImplementedError(
            f"cannot determine binning: region {region['Name']} has no Binning"
        )
    return np.asarray(region["Binning"])


def _constant_weight(weight: str | None) -> float | None:
    """The weight as a number, or None when it is an expression to evaluate."""
    if weight is None:
        return 1.0
    try:
        return float(weight)
    except ValueError:
        return None


# --- reading histograms --------------------------------------------------------------


def _read_histogram(path: str, label: str) -> Any:
    """The boost-histogram at ``file.root:path/in/file``."""
    import uproot
    from uproot._util import file_object_path_split

    file_path, object_path = file_object_path_split(path)
    if object_path is None:
        raise ValueError(
            f"cannot collect template {label}: no ':' in {path} to separate the file "
            "from the histogram path"
        )
    log.debug("reading input histogram %s", path)
    context = f"cannot collect template {label}"
    try:
        if not os.path.lexists(file_path):
            raise FileNotFoundError(file_path)
        with root_input.open_file(file_path, context) as source:
            with root_input.reading(file_path, f"histogram {object_path!r}", context):
                return source[object_path].to_boost()
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"cannot collect template {label}: no file {file_path}"
        ) from exc
    except uproot.KeyInFileError as exc:
        raise templates_fill.missing_key_error(
            exc, f"cannot collect template {label}", file_path, "histogram"
        ) from exc


def _name_and_save(
    folder: pathlib.Path,
    histogram: Any,
    region: Dict,
    sample: Dict,
    systematic: Dict,
    template: Any,
    fmt: str,
) -> None:
    label = template_files.name(region, sample, systematic, template=template)
    content = template_files.from_boost(histogram, label)
    template_files.validate(content, label)
    template_files.save(content, folder, label, fmt)


# --- build ---------------------------------------------------------------------------


class _Builder:
    """Plans every template first (ntuple fills, or user-defined builders), then
    fills the ntuple templates on an executor and saves all in config order."""

    def __init__(
        self, folder: pathlib.Path, general_path: str, method: str, fmt: str
    ) -> None:
        self.histogram_folder = folder
        self.fmt = fmt
        self.general_path = general_path
        self.method = method
        self.fills: list[templates_fill.Fill] = []
        # per template in config order: its fill index, or a user builder to call
        self.steps: list[tuple[tuple[Dict, Dict, Dict, Any], Any]] = []

    def _create_histogram(
        self, region: Dict, sample: Dict, systematic: Dict, template: Any
    ) -> None:
        label = template_files.name(region, sample, systematic, template=template)
        paths = _ntuple_paths(self.general_path, region, sample, systematic, template)
        weight = _setting(sample.get("Weight"), systematic, template, "Weight")
        constant = _constant_weight(weight)
        fill = templates_fill.Fill(
            label=label,
            paths=tuple(str(p) for p in paths),
            tree=_setting(sample["Tree"], systematic, template, "Tree"),
            variable=_setting(region["Variable"], systematic, template, "Variable"),
            weight=weight if constant is None else None,
            constant=1.0 if constant is None else constant,
            selection=_filter(region, sample, systematic, template),
            bins=tuple(float(b) for b in _binning(region)),
        )
        if self.method != "uproot":
            raise NotImplementedError(f"unknown backend {self.method}")
        self.steps.append(((region, sample, systematic, template), len(self.fills)))
        self.fills.append(fill)

    def _wrap_custom_template_builder(
        self, func: route.UserTemplateFunc
    ) -> route.ProcessorFunc:
        """A processor scheduling ``func``, whose boost-histogram is then saved."""

        @functools.wraps(func)
        def wrapper(
            region: Dict, sample: Dict, systematic: Dict, template: Any
        ) -> None:
            self.steps.append(((region, sample, systematic, template), func))

        return wrapper

    def run(self, executor: Any, step_size: int) -> None:
        import boost_histogram as bh

        histograms = templates_fill.fill(
            self.fills, executor, step_size=step_size, progress=True
        )
        for args, step in self.steps:
            if isinstance(step, int):
                histogram = histograms[step]
            else:
                histogram = step(*args)
                if not isinstance(histogram, bh.Histogram):
                    raise TypeError(
                        f"{step.__name__} must return a boost_histogram.Histogram"
                    )
            _name_and_save(self.histogram_folder, histogram, *args, self.fmt)


def build(
    config: Dict,
    *,
    method: str = "uproot",
    router: route.Router | None = None,
    executor: Any = None,
    jobs: int | None = None,
    client: Any = None,
    step_size: int = templates_fill.DEFAULT_STEP_SIZE,
) -> None:
    """Build every needed template from ntuples and save it.

    A builder registered on ``router`` for a template replaces the default one; it
    returns a ``boost_histogram.Histogram`` that is saved like a built one.

    The ntuples are read and filled in parallel, in units of one file × ``step_size``
    entries, on ``executor`` (a :class:`hifit.executor.Executor`), else on one made
    from ``client`` (a ``dask.distributed.Client``) or ``jobs`` local threads, else
    on the one of an enclosing ``with hifit.executor.using(...)``, else on one
    thread per core. The
    templates do not depend on where or how parallel they were filled (see
    :mod:`.templates_fill`). Every input is checked before any filling starts.
    """
    general = config["General"]
    builder = _Builder(
        pathlib.Path(general["HistogramFolder"]),
        general["InputPath"],
        method,
        template_files.file_format(general),
    )
    match_func = None
    if router is not None:
        router.template_builder_wrapper = builder._wrap_custom_template_builder
        match_func = router._find_template_builder_match
    route.apply_to_all_templates(
        config, builder._create_histogram, match_func=match_func
    )
    if not builder.fills:  # user builders only: no executor needed
        builder.run(None, step_size)
        return
    executor, close = templates_fill.executor_for(executor, jobs=jobs, client=client)
    try:
        builder.run(executor, step_size)
    finally:
        close()


# --- collect -------------------------------------------------------------------------


def _histo_path(
    general_path: str,
    variation_path: str,
    region: Dict,
    sample: Dict,
    systematic: Dict,
    template: Any,
) -> str:
    """``InputPath`` with {RegionPath}, {SamplePath} and {VariationPath} filled.

    Templates may override SamplePath and VariationPath, not RegionPath.
    """
    sample_path = _setting(sample.get("SamplePath"), systematic, template, "SamplePath")
    if isinstance(sample_path, list):
        raise ValueError(
            f"SamplePath of sample {sample['Name']} is a list: only ntuple inputs "
            "can sum several paths"
        )
    variation = _setting(variation_path, systematic, template, "VariationPath")
    region_path = region.get("RegionPath")
    _check_placeholder(
        general_path, "RegionPath", region_path, "region", region["Name"]
    )
    path = _fill(general_path, "RegionPath", region_path)
    _check_placeholder(path, "SamplePath", sample_path, "sample", sample["Name"])
    path = _fill(path, "SamplePath", sample_path)
    # VariationPath always has a value (default ""), so only its absence can warn.
    _check_placeholder(path, "VariationPath", variation, "variation", "")
    path = _fill(path, "VariationPath", variation)
    if ":" not in path:
        log.warning(
            "no colon found in path %s, may not be able to find histogram", path
        )
    return path


def _collector(
    folder: pathlib.Path,
    general_path: str,
    variation_path: str,
    method: str,
    fmt: str,
) -> route.ProcessorFunc:
    def collect_template(
        region: Dict, sample: Dict, systematic: Dict, template: Any
    ) -> None:
        label = template_files.name(region, sample, systematic, template=template)
        path = _histo_path(
            general_path, variation_path, region, sample, systematic, template
        )
        if method != "uproot":
            raise NotImplementedError(f"unknown backend {method}")
        histogram = _read_histogram(path, label)
        _name_and_save(folder, histogram, region, sample, systematic, template, fmt)

    return collect_template


def collect(config: Dict, *, method: str = "uproot") -> None:
    """Read every needed template from ROOT histograms and save it.

    ``General.VariationPath`` is the default for {VariationPath} ("" if unset).
    """
    general = config["General"]
    variation_path = general.get("VariationPath")
    if variation_path is None:
        variation_path = ""
        log.info('no VariationPath specified in general settings, defaulting to ""')
    processor = _collector(
        pathlib.Path(general["HistogramFolder"]),
        general["InputPath"],
        variation_path,
        method,
        template_files.file_format(general),
    )
    route.apply_to_all_templates(config, processor)


# --- postprocess ---------------------------------------------------------------------


def _smoothing_algorithm(region: Dict, sample: Dict, systematic: Dict) -> str | None:
    """The systematic's smoothing algorithm if it applies to this region and sample."""
    smoothing = systematic.get("Smoothing")
    if smoothing is None:
        return None
    if not configuration._x_contains_y(region, smoothing, "Regions"):
        return None
    if not configuration._x_contains_y(sample, smoothing, "Samples"):
        return None
    return smoothing["Algorithm"]


def _apply_postprocessing(
    content: template_files.Template,
    label: str,
    smoothing_algorithm: str | None,
    nominal: template_files.Template | None,
) -> template_files.Template:
    """NaN stdev become 0 (empty bins stay empty), then the optional smoothing."""
    yields, stdev, bins = content
    if np.isnan(stdev).any():
        log.debug("fixing ill-defined stat. unc. for %s", label)
        stdev = np.nan_to_num(stdev, nan=0.0)
    if smoothing_algorithm == "353QH, twice":
        if nominal is None:
            raise ValueError("cannot apply smoothing, nominal histogram missing")
        yields = smooth.smooth_variation_353qh_twice(yields, nominal.yields, label)
    elif smoothing_algorithm is not None:
        log.warning("unknown smoothing algorithm %s", smoothing_algorithm)
    return template_files.Template(yields, stdev, bins)


def _postprocessor(folder: pathlib.Path, fmt: str) -> route.ProcessorFunc:
    def process_template(
        region: Dict, sample: Dict, systematic: Dict, template: Any
    ) -> None:
        label = template_files.name(region, sample, systematic, template=template)
        content = template_files.load(folder, label, modified=False)
        algorithm = _smoothing_algorithm(region, sample, systematic)
        # Smoothing acts on the ratio to the nominal, so it needs the nominal.
        nominal = None
        if algorithm is not None:
            nominal_label = template_files.name(region, sample, {})
            nominal = template_files.load(folder, nominal_label, modified=False)
        modified = _apply_postprocessing(content, label, algorithm, nominal)
        template_files.validate(content, label)
        template_files.save(
            modified, folder, label + template_files.MODIFIED_SUFFIX, fmt
        )

    return process_template


def postprocess(config: Dict) -> None:
    """Write a post-processed ``_modified`` copy of every needed template."""
    general = config["General"]
    folder = pathlib.Path(general["HistogramFolder"])
    fmt = template_files.file_format(general)
    route.apply_to_all_templates(config, _postprocessor(folder, fmt))


# --- loading -------------------------------------------------------------------------


def _systematic_dict(config: Dict, systematic: str | Mapping[str, Any] | None) -> Dict:
    if systematic is None or isinstance(systematic, Mapping):
        return dict(systematic or {})
    for entry in config.get("Systematics", []):
        if entry["Name"] == systematic:
            return entry
    raise configuration.InvalidConfig(f"systematic {systematic} not found in config")


def load_template(
    config: Dict,
    region: str | Mapping[str, Any],
    sample: str | Mapping[str, Any],
    systematic: str | Mapping[str, Any] | None = None,
    template: TemplateName = None,
    modified: bool = True,
) -> template_files.Template:
    """Load one template from ``General.HistogramFolder``.

    Args:
        config: the cabinetry configuration
        region, sample: names, or the config entries
        systematic: name or config entry; None or {} for the nominal
        template: "Up" or "Down" for a variation, None for the nominal
        modified: prefer the post-processed copy, falling back to the raw template
            (with an info log) when there is none, as cabinetry does

    Returns:
        ``Template(yields, stdev, bins)``, a named tuple of numpy arrays (``bins``
        holds the edges, one more entry than the yields).
    """
    if template not in (None, "Up", "Down"):
        raise ValueError(f"template must be 'Up', 'Down' or None, not {template!r}")
    if isinstance(region, str):
        region = configuration.region_dict(config, region)
    if isinstance(sample, str):
        sample = configuration.sample_dict(config, sample)
    systematic = _systematic_dict(config, systematic)
    if template is not None and not systematic:
        raise ValueError(f"template {template!r} needs a systematic")
    label = template_files.name(region, sample, systematic, template=template)
    folder = config["General"]["HistogramFolder"]
    return template_files.load(folder, label, modified=modified)
