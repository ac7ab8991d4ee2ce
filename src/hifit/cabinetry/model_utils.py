"""Models, data, Asimov parameters and yield predictions (cabinetry's model_utils).

Same functions and results as ``cabinetry.model_utils``, with hifit models:

* :func:`model_and_data` compiles a workspace with normsys code4 / histosys code4p;
* :func:`asimov_parameters`, :func:`prefit_uncertainties`, :func:`asimov_data`,
  :func:`unconstrained_parameter_count`, :func:`match_fit_results`;
* :func:`prediction` returns a :class:`ModelPrediction`: yields per channel, sample
  and bin, and their uncertainties from symmetrised ±1σ shifts of every parameter
  combined with the correlation matrix (computed in C++ by ``_core.predict``).
  ``sample_update_map`` merges, renames or reorders samples for display.

Models made by :func:`model_and_data` remember their workspace, so the fit module
can recompile them with another parameter of interest (cabinetry changes the POI of
a pyhf model in place; hifit models are immutable).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import _core, infer
from ..model import Model
from ..pyhf_workspace import Workspace
from .fit.results_containers import FitResults

__all__ = [
    "ModelPrediction",
    "asimov_data",
    "asimov_parameters",
    "match_fit_results",
    "model_and_data",
    "prediction",
    "prefit_uncertainties",
    "unconstrained_parameter_count",
    "yield_stdev",
]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

# cabinetry: HistFactory's InterpCode=4 for both (pyhf's default since 0.6.0)
_MODIFIER_SETTINGS = {
    "normsys": {"interpcode": "code4"},
    "histosys": {"interpcode": "code4p"},
}


class ModelPrediction(NamedTuple):
    """Yields and total uncertainties of a model, per channel, sample and bin.

    Args:
        model: the model (or, after merging samples, a view of it whose
            ``config.samples`` lists the merged samples)
        model_yields: yields, indices [channel][sample][bin]
        total_stdev_model_bins: uncertainties, indices [channel][sample][bin]; the
            last sample is the sum over samples
        total_stdev_model_channels: uncertainties of the per-channel sums, indices
            [channel][sample]; the last sample is the sum over samples
        label: "pre-fit", "post-fit" or a custom label
    """

    model: Any
    model_yields: list[list[list[float]]]
    total_stdev_model_bins: list[list[list[float]]]
    total_stdev_model_channels: list[list[float]]
    label: str


class WorkspaceModel(Model):
    """A model that knows its workspace, so it can be rebuilt with another POI."""

    __slots__ = ("_workspace",)

    def __init__(self, workspace: Workspace, model: Model) -> None:
        super().__init__(model._model, recipe=model._recipe)  # pickles as a Model
        self._workspace = workspace

    @property
    def spec(self) -> dict[str, Any]:
        """The workspace specification (pyhf models expose ``spec`` too)."""
        return self._workspace.spec()

    def with_poi(self, poi_name: str) -> WorkspaceModel:
        """The same model with ``poi_name`` as parameter of interest."""
        model = self._workspace.model(
            measurement_name=self.config.measurement_name,
            poi_name=poi_name,
            modifier_settings=_MODIFIER_SETTINGS,
        )
        return WorkspaceModel(self._workspace, model)


def model_and_data(
    spec: Mapping[str, Any], *, asimov: bool = False, include_auxdata: bool = True
) -> tuple[WorkspaceModel, list[float]]:
    """The model of a workspace and its observed (or pre-fit Asimov) data.

    Args:
        spec: a pyhf workspace specification
        asimov: return the pre-fit Asimov data set instead of the observations
        include_auxdata: append the auxiliary data

    Returns:
        the model (normsys code4, histosys code4p) and the data, as a list
    """
    workspace = Workspace(spec)
    model = WorkspaceModel(
        workspace, workspace.model(modifier_settings=_MODIFIER_SETTINGS)
    )
    if asimov:
        return model, asimov_data(model, include_auxdata=include_auxdata)
    return model, workspace.data(model, include_auxdata=include_auxdata).tolist()


def with_poi(model: Model, poi_name: str | None) -> Model:
    """``model`` with ``poi_name`` as POI (``model`` itself when nothing changes).

    Raises:
        ValueError: if the parameter does not exist, or the model cannot be rebuilt
            (it was not made by :func:`model_and_data`)
    """
    if poi_name is None or poi_name == model.config.poi_name:
        return model
    if poi_name not in model.config.par_names:
        raise ValueError(f"parameter {poi_name} not found in model")
    if not isinstance(model, WorkspaceModel):
        raise ValueError(
            f"cannot change the POI to {poi_name}: build the model with "
            "model_utils.model_and_data, or hifit.Workspace.model(poi_name=...)"
        )
    return model.with_poi(poi_name)


# --- parameters -------------------------------------------------------------------


def asimov_parameters(model: Model) -> np.ndarray:
    """Parameter values of the pre-fit Asimov data set.

    Unconstrained parameters take their workspace inits, normsys/histosys
    parameters 0, all other constrained ones (staterror, lumi, shapesys) 1. Custom
    auxiliary data is ignored, as in cabinetry.
    """
    init = model.config.suggested_init()
    pars = np.empty(model.config.npars)
    for p in model.config.paramsets:
        part = slice(p.offset, p.offset + p.size)
        if p.constraint == "unconstrained":
            pars[part] = init[part]
        elif {"histosys", "normsys"} & set(p.modifier_types):
            pars[part] = 0.0
        else:
            pars[part] = 1.0
    return pars


def prefit_uncertainties(model: Model) -> np.ndarray:
    """Constraint widths; 0 for unconstrained and fixed parameters."""
    return infer.prefit_uncertainties(model)


def asimov_data(
    model: Model,
    *,
    fit_results: FitResults | None = None,
    poi_name: str | None = None,
    poi_value: float | None = None,
    include_auxdata: bool = True,
) -> list[float]:
    """Expected data at the Asimov parameters, or at the best fit of ``fit_results``.

    ``poi_value`` overrides the POI (``poi_name``, default: the model's POI).
    """
    if fit_results is None:
        pars = asimov_parameters(model)
    else:
        pars = np.array(fit_results.bestfit, dtype=float)
    if poi_value is not None:
        poi_index = _poi_index(model, poi_name=poi_name)
        if poi_index is None:
            raise ValueError(
                "no POI specified in model, use the poi_name argument to set POI name"
            )
        pars[poi_index] = poi_value
    return model.expected_data(pars, include_auxdata=include_auxdata).tolist()


def unconstrained_parameter_count(
    model: Model, *, fix_pars: Sequence[bool] | None = None
) -> int:
    """Number of free unconstrained parameters (a shapefactor counts once per bin)."""
    fixed = list(fix_pars or model.config.suggested_fixed())
    return sum(
        not fixed[i]
        for p in model.config.paramsets
        if p.constraint == "unconstrained"
        for i in range(p.offset, p.offset + p.size)
    )


def match_fit_results(model: Model, fit_results: FitResults) -> FitResults:
    """Fit results re-ordered and completed for another model.

    Parameters absent from ``fit_results`` take their Asimov values, pre-fit
    uncertainties and no correlation; parameters absent from ``model`` are dropped.
    """
    bestfit = asimov_parameters(model)
    uncertainty = prefit_uncertainties(model)
    labels = model.config.par_names
    source = {label: i for i, label in enumerate(fit_results.labels)}
    target_idx = [i for i, label in enumerate(labels) if label in source]
    source_idx = [source[labels[i]] for i in target_idx]
    bestfit[target_idx] = np.asarray(fit_results.bestfit)[source_idx]
    uncertainty[target_idx] = np.asarray(fit_results.uncertainty)[source_idx]
    corr_mat = np.identity(len(labels))
    corr_mat[np.ix_(target_idx, target_idx)] = np.asarray(fit_results.corr_mat)[
        np.ix_(source_idx, source_idx)
    ]
    return FitResults(
        bestfit,
        uncertainty,
        labels,
        corr_mat,
        fit_results.best_twice_nll,
        fit_results.goodness_of_fit,
    )


# --- predictions ------------------------------------------------------------------


class _MergedConfig:
    """A model configuration whose ``samples`` are the merged samples."""

    def __init__(self, config: Any, samples: list[str]) -> None:
        self._config = config
        self.samples = samples

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)


class _MergedModel:
    """A view of a model for display: same model, merged sample list."""

    def __init__(self, model: Model, samples: list[str]) -> None:
        self._base = model
        self.config = _MergedConfig(model.config, samples)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


def _merge_matrix(
    samples: list[str], sample_update_map: Mapping[str, Sequence[str]]
) -> tuple[list[str], np.ndarray]:
    """New sample names and the 0/1 matrix summing old samples into them.

    The new samples come first, in map order, then the samples not merged, in model
    order. Merging a sample twice, unknown samples and duplicate names are errors.
    """
    merged = [old for group in sample_update_map.values() for old in group]
    unknown = sorted(set(merged) - set(samples))
    if unknown:
        raise ValueError(f"samples {unknown} to be merged not found in model")
    if len(set(merged)) != len(merged):
        raise ValueError("a sample cannot be merged into more than one new sample")
    kept = [s for s in samples if s not in merged]
    names = list(sample_update_map) + kept
    if len(set(names)) != len(names):
        raise ValueError(f"sample update gives duplicate sample names: {names}")
    matrix = np.zeros((len(names), len(samples)))
    for row, name in enumerate(names):
        for old in sample_update_map.get(name, [name]):
            matrix[row, samples.index(old)] = 1.0
    return names, matrix


def _summary(model: Model, by_sample: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Merged samples plus their total (rows), bins then channel sums (columns)."""
    merged = matrix @ by_sample
    rows = np.vstack([merged, merged.sum(axis=0)])
    ends = np.cumsum([model.config.channel_nbins[c] for c in model.config.channels])
    channel_sums = np.add.reduceat(rows, np.r_[0, ends[:-1]], axis=1)
    return np.hstack([rows, channel_sums])


def _merged_prediction(
    model: Model,
    pars: np.ndarray,
    uncertainty: np.ndarray,
    corr_mat: np.ndarray,
    matrix: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_core.predict`` for merged samples, from per-sample yields at θ ± σ_i.

    The shifts v_i are taken on the merged sums, so correlations between merged
    samples enter the uncertainty exactly as in cabinetry.
    """
    core = model._model
    yields = matrix @ _core.expected_by_sample(core, pars)
    shifted = np.flatnonzero(uncertainty)
    v = []
    for i in shifted:
        x = pars.copy()
        x[i] = pars[i] + uncertainty[i]
        up = _summary(model, _core.expected_by_sample(core, x), matrix)
        x[i] = pars[i] - uncertainty[i]
        down = _summary(model, _core.expected_by_sample(core, x), matrix)
        v.append(0.5 * (up - down))
    nrows = matrix.shape[0] + 1
    width = model.config.nmaindata + len(model.config.channels)
    v = np.asarray(v).reshape(len(shifted), nrows * width)
    rho = corr_mat[np.ix_(shifted, shifted)]
    variance = np.einsum("ik,ij,jk->k", v, rho, v).reshape(nrows, width)
    stdev = np.sqrt(variance)
    nmain = model.config.nmaindata
    return yields, stdev[:, :nmain], stdev[:, nmain:]


def _per_channel(
    model: Model, yields: np.ndarray, stdev_bins: np.ndarray, stdev_channels: np.ndarray
) -> tuple[list[Any], list[Any], list[Any]]:
    """Split [sample, bin] arrays into cabinetry's [channel][sample][bin] lists."""
    model_yields, bins = [], []
    start = 0
    for channel in model.config.channels:
        part = slice(start, start + model.config.channel_nbins[channel])
        model_yields.append(yields[:, part].tolist())
        bins.append(stdev_bins[:, part].tolist())
        start = part.stop
    return model_yields, bins, stdev_channels.T.tolist()


def yield_stdev(
    model: Model,
    parameters: np.ndarray,
    uncertainty: np.ndarray,
    corr_mat: np.ndarray,
) -> tuple[list[list[list[float]]], list[list[float]]]:
    """Symmetrised yield uncertainties per channel, sample and bin (cabinetry's).

    Returns:
        - [channel][sample][bin] standard deviations, the last sample being the sum
          over samples
        - [channel][sample] standard deviations of the channel totals, same samples
    """
    arrays = _core.predict(
        model._model,
        np.asarray(parameters, dtype=float),
        np.asarray(uncertainty, dtype=float),
        np.ravel(np.asarray(corr_mat, dtype=float)).tolist(),
    )
    _, stdev_bins, stdev_channels = _per_channel(model, *arrays)
    return stdev_bins, stdev_channels


def prediction(
    model: Model,
    *,
    fit_results: FitResults | None = None,
    label: str | None = None,
    sample_update_map: Mapping[str, Sequence[str]] | None = None,
) -> ModelPrediction:
    """Model yields and their uncertainties, pre-fit or post-fit.

    Args:
        model: the model
        fit_results: best fit, uncertainties and correlations to use; None for the
            pre-fit prediction (Asimov parameters, constraint widths, no
            correlations)
        label: defaults to "pre-fit" / "post-fit"
        sample_update_map: ``{new_name: [samples to sum]}``; new samples come first,
            the other samples follow in model order

    Returns:
        ModelPrediction
    """
    if fit_results is not None:
        if list(fit_results.labels) != model.config.par_names:
            log.warning("parameter names in fit results and model do not match")
        pars = np.asarray(fit_results.bestfit, dtype=float)
        uncertainty = np.asarray(fit_results.uncertainty, dtype=float)
        corr_mat = np.asarray(fit_results.corr_mat, dtype=float)
        label = "post-fit" if label is None else label
    else:
        pars = asimov_parameters(model)
        uncertainty = prefit_uncertainties(model)
        corr_mat = np.identity(len(pars))
        label = "pre-fit" if label is None else label

    if sample_update_map is None:
        arrays = _core.predict(
            model._model, pars, uncertainty, np.ravel(corr_mat).tolist()
        )
        shown = model
    else:
        names, matrix = _merge_matrix(model.config.samples, sample_update_map)
        arrays = _merged_prediction(model, pars, uncertainty, corr_mat, matrix)
        shown = _MergedModel(model, names)
    model_yields, stdev_bins, stdev_channels = _per_channel(model, *arrays)
    log.debug(
        "total stdev per channel is %s", [per_ch[-1] for per_ch in stdev_channels]
    )
    return ModelPrediction(shown, model_yields, stdev_bins, stdev_channels, label)


# --- helpers used by the fit, tabulate and visualize modules ----------------------


def _parameter_index(par_name: str, labels: Sequence[str]) -> int | None:
    """Index of ``par_name`` in ``labels``; None (and an error log) if absent."""
    index = next((i for i, label in enumerate(labels) if label == par_name), None)
    if index is None:
        log.error("parameter %s not found in model", par_name)
    return index


def _poi_index(model: Model, *, poi_name: str | None = None) -> int | None:
    """Index of ``poi_name`` (ValueError if absent), else of the model's POI."""
    if poi_name is not None:
        index = _parameter_index(poi_name, model.config.par_names)
        if index is None:
            raise ValueError(f"parameter {poi_name} not found in model")
        return index
    if model.config.poi_index is not None:
        return model.config.poi_index
    log.error("could not find POI for model")
    return None


def _strip_auxdata(model: Model, data: Sequence[float]) -> Sequence[float]:
    """The main data, with the auxiliary data (if any) cut off."""
    return data[: model.config.nmaindata]


def _data_per_channel(model: Model, data: Sequence[float]) -> list[Sequence[float]]:
    """Main data split per channel (model channel order)."""
    main = _strip_auxdata(model, data)
    out, start = [], 0
    for channel in model.config.channels:
        stop = start + model.config.channel_nbins[channel]
        out.append(main[start:stop])
        start = stop
    return out


def _filter_channels(model: Model, channels: str | Sequence[str] | None) -> list[str]:
    """Requested channels present in the model (all of them by default)."""
    if channels is None:
        return model.config.channels
    requested = [channels] if isinstance(channels, str) else list(channels)
    kept = [ch for ch in requested if ch in model.config.channels]
    if not kept:
        log.warning(
            "channel(s) %s not found in model, available channel(s): %s",
            channels,
            model.config.channels,
        )
    return kept


def _modifier_map(
    model: WorkspaceModel,
) -> defaultdict[tuple[str, str, str], list[str]]:
    """(channel, sample, parameter) → modifier types ([] if none), from the spec."""
    types: defaultdict[tuple[str, str, str], list[str]] = defaultdict(list)
    for channel in model.spec["channels"]:
        for sample in channel["samples"]:
            for modifier in sample["modifiers"]:
                key = (channel["name"], sample["name"], modifier["name"])
                types[key].append(modifier["type"])
    return types
