"""``Datacard``: one CMS Combine card (one bin) per PocketCoffea category.

Drop-in for ``pocket_coffea.utils.stat.combine``: same constructor, properties and
``dump``. The card text comes from the C++ writer (aligned columns that never merge);
the templates go to a ROOT file through uproot. Both files are written atomically.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from ..io import write_text_atomic
from ._messages import notice
from ._output import make_axis, to_hist, write_root
from ._templates import (
    Template,
    TemplateBuilder,
    check_variation,
    clip_negative,
    warn_clipped,
)
from .processes import DataProcesses, MCProcesses
from .systematics import Systematics

__all__ = ["AUTO_MC_STATS", "Datacard", "combine_datacards"]

# https://cms-analysis.github.io/HiggsAnalysis-CombinedLimit/latest/part2/bin-wise-stats/
AUTO_MC_STATS = {"threshold": 0, "include_signal": 0, "hist_mode": 1}

# Combine refuses bin names starting with a digit; combineCards.py labels and RooFit
# object names need identifier characters.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _core_datacard() -> Any:
    from .. import _core

    return _core.datacard


def _check_bin_name(name: str, category: str) -> str:
    if _IDENTIFIER.match(name):
        return name
    if name[:1].isdigit():
        why = "starts with a digit"
        fix = f"pass bin_prefix (e.g. bin_prefix='ch' gives 'ch_{name}')"
    else:
        bad = sorted({c for c in name if not (c.isalnum() or c == "_")})
        why = f"contains {''.join(bad)!r}"
        fix = "use only letters, digits and '_' in category, bin_prefix, bin_suffix"
    msg = (
        f"bin name {name!r} (category {category!r}) {why}, which Combine refuses; {fix}"
    )
    raise ValueError(msg)


def _parse_mcstat(mcstat: bool | Mapping[str, Any]) -> dict[str, Any] | None:
    if isinstance(mcstat, bool):
        return dict(AUTO_MC_STATS) if mcstat else None
    if isinstance(mcstat, Mapping):
        unknown = set(mcstat) - set(AUTO_MC_STATS)
        if unknown:
            msg = (
                f"Unknown keys in mcstat: {', '.join(sorted(unknown))}. "
                f"Allowed keys are: {', '.join(AUTO_MC_STATS)}"
            )
            raise ValueError(msg)
        config = {**AUTO_MC_STATS, **mcstat}  # the caller's dict is left untouched
        if config["threshold"] < 0 and config["threshold"] != -1:
            msg = f"mcstat threshold must be >= 0 (or -1), got {config['threshold']}"
            raise ValueError(msg)
        return config
    msg = f"mcstat must be a bool or a dict with keys {', '.join(AUTO_MC_STATS)}"
    raise TypeError(msg)


class Datacard:
    """Datacard of one category: processes, systematics, templates and writers.

    Parameters are those of ``pocket_coffea.utils.stat.Datacard``:

    histograms : dict
        ``{sample: {dataset: hist.Hist}}`` as in ``output["variables"][name]``: MC
        axes (cat, variation, observable), data axes (cat, observable).
    datasets_metadata, cutflow : dict
        From the PocketCoffea output; both cutflow layouts are accepted.
    years : list of str
        Data-taking periods; the default ``bin_suffix`` is ``"_".join(years)``.
    mc_processes, systematics, category, data_processes :
        What goes into the card (at most one data process).
    mcstat : bool or dict
        ``autoMCStats`` (default ``0 0 1``); a dict overrides ``threshold``,
        ``include_signal``, ``hist_mode``; ``False`` writes no autoMCStats line.
    bins_edges : list of float or int
        New bin edges (each must be an existing edge), or a number of adjacent bins
        to merge.
    bin_prefix, bin_suffix : str
        Bin name ``[prefix_]category[_suffix]``; must be an identifier.
    verbose : bool
        Print notices (missing variations, skipped datasets, dropped entries).
    shape_only_for_rateparam : bool
        For processes with a rateParam, scale each Up/Down template so that its total
        (with flow, over ``rateparam_norm_categories`` (default: every category of the
        histograms) and the years of the systematic) equals the nominal one.

    Keyword-only options of hifit:

    flow : "drop" or "fold"
        Entries outside the datacard range (under/overflow and bins cut away by
        ``bins_edges``). ``"drop"`` (default, PocketCoffea's behaviour) discards them
        and says how much was dropped; ``"fold"`` adds them to the first/last bin.
    clip_negative : bool
        Set negative template bins to zero (value and variance) with a
        ``NegativeBinWarning`` (default True, as current PocketCoffea); rates are the
        sums of the written templates either way.
    """

    def __init__(
        self,
        histograms: Mapping[str, Mapping[str, Any]],
        datasets_metadata: Mapping[str, Any],
        cutflow: Mapping[str, Any] | None,
        years: Sequence[str],
        mc_processes: MCProcesses,
        systematics: Systematics,
        category: str,
        data_processes: DataProcesses | None = None,
        mcstat: bool | Mapping[str, Any] = True,
        bins_edges: Sequence[float] | int | None = None,
        bin_prefix: str | None = None,
        bin_suffix: str | None = None,
        verbose: bool = True,
        shape_only_for_rateparam: bool = False,
        rateparam_norm_categories: Sequence[str] | None = None,
        *,
        flow: str = "drop",
        clip_negative: bool = True,
    ) -> None:
        if not isinstance(mc_processes, MCProcesses):
            mc_processes = MCProcesses(mc_processes)
        if not isinstance(systematics, Systematics):
            systematics = Systematics(systematics)
        if data_processes is not None and not isinstance(data_processes, DataProcesses):
            data_processes = DataProcesses(data_processes)
        if data_processes is not None and len(data_processes) != 1:
            msg = f"Only one data process is supported, got {len(data_processes)}"
            raise NotImplementedError(msg)
        if not mc_processes:
            msg = "a Datacard needs at least one MC process"
            raise ValueError(msg)
        self.histograms = histograms
        self.datasets_metadata = datasets_metadata
        self.cutflow = cutflow
        self.years = [str(y) for y in years]
        self.mc_processes = mc_processes
        self.systematics = systematics
        self.category = category
        self.data_processes = data_processes
        self.bins_edges = bins_edges
        self.bin_prefix = bin_prefix
        self.bin_suffix = "_".join(self.years) if bin_suffix is None else bin_suffix
        self.verbose = verbose
        self.shape_only_for_rateparam = shape_only_for_rateparam
        self.rateparam_norm_categories = rateparam_norm_categories
        self.flow = flow
        self.clip_negative = clip_negative
        self.has_data = data_processes is not None
        self._mcstat = _parse_mcstat(mcstat)
        self.mcstat = self._mcstat is not None
        if self._mcstat:
            self.threshold = self._mcstat["threshold"]
            self.include_signal = self._mcstat["include_signal"]
            self.hist_mode = self._mcstat["hist_mode"]
        _check_bin_name(self.bin, category)

        self.process_id: dict[str, int] = {}
        next_signal, next_background = 0, 1
        for p in mc_processes.values():
            for year in p.years:
                if p.is_signal:
                    self.process_id[f"{p.name}_{year}"] = next_signal
                    next_signal -= 1
                else:
                    self.process_id[f"{p.name}_{year}"] = next_background
                    next_background += 1
        self._build_templates()

    # ---- templates ------------------------------------------------------------------

    def _shapes_for(self, process: str, year: str) -> list[Any]:
        return [
            s
            for s in self.systematics.values()
            if s.is_shape and s.applies(process, year)
        ]

    def _build_templates(self) -> None:
        builder = TemplateBuilder(
            self.histograms,
            self.datasets_metadata,
            self.cutflow,
            self.category,
            self.bins_edges,
            self.flow,
            self.verbose,
        )
        self._mc: dict[str, dict[str, Template]] = {}
        for p in self.mc_processes.values():
            for year in p.years:
                column = f"{p.name}_{year}"
                self._mc[column] = builder.column(
                    p, year, self._shapes_for(p.name, year)
                )
        self._data: Template | None = None
        if self.data_processes is not None:
            (data,) = self.data_processes.values()
            self._data = builder.data(data)
        if builder.axis is None:
            msg = f"category {self.category!r}: no histogram found for any process"
            raise ValueError(msg)
        assert builder.binning is not None
        self._axis = make_axis(
            builder.binning.edges, builder.axis.name, builder.axis.label
        )
        if builder.outside:
            notice(
                f"Category {self.category}: entries of total |weight| "
                f"{builder.outside:.6g} lie outside the datacard range (under/overflow"
                f"{' or cut by bins_edges' if self.bins_edges is not None else ''}) "
                "and were dropped; pass flow='fold' to add them to the edge bins.",
                self.verbose,
            )
        if self.shape_only_for_rateparam:
            self._remove_norm_effects(builder)
        if self.clip_negative:
            touched = []
            for column, templates in self._mc.items():
                touched += [f"{column} {t}" for t in clip_negative(templates)]
            warn_clipped(touched, self.category)
        self._check_shapes()

    def _remove_norm_effects(self, builder: TemplateBuilder) -> None:
        categories = self.rateparam_norm_categories
        for p in self.mc_processes.values():
            if not p.has_rateParam:
                continue
            for s in self.systematics.values():
                years = [y for y in p.years if s.is_shape and s.applies(p.name, y)]
                if not years:
                    continue
                cats = categories
                if cats is None:
                    found = [src for y in years for src in builder.sources(p, y)]
                    if not found:
                        continue
                    h = found[0][2]
                    cats = list(h.axes["cat"] if "cat" in h.axes.name else h.axes[0])
                nominal = builder.total_with_flow(p, years, "nominal", cats)
                for shift in ("Up", "Down"):
                    source = f"{s.get_coffea_name(p.name)}{shift}"
                    varied = builder.total_with_flow(p, years, source, cats)
                    if varied == 0:
                        continue
                    factor = nominal / varied
                    for y in years:
                        values, variances = self._mc[f"{p.name}_{y}"][
                            f"{s.datacard_name}{shift}"
                        ]
                        values *= factor
                        variances *= factor**2

    def _check_shapes(self, threshold: float = 1.0) -> None:
        for column, templates in self._mc.items():
            nominal = templates["nominal"][0]
            for name, (values, _) in templates.items():
                if name != "nominal":
                    check_variation(
                        nominal, values, name, column, self.category, threshold
                    )

    def template(self, process: str, variation: str = "nominal") -> Template:
        """(values, variances) of a column's template (``"data_obs"`` for data)."""
        if process == "data_obs" and self._data is not None:
            return self._data
        if process not in self._mc:
            known = ", ".join(self._mc)
            msg = f"no column {process!r} in category {self.category!r} ({known})"
            raise ValueError(msg)
        templates = self._mc[process]
        if variation not in templates and variation not in self.shape_variations:
            msg = (
                f"no variation {variation!r}; known: {', '.join(self.shape_variations)}"
            )
            raise ValueError(msg)
        return templates.get(variation, templates["nominal"])

    # ---- PocketCoffea's properties --------------------------------------------------

    @property
    def mcstat_config(self) -> dict[str, Any]:
        """autoMCStats options ({} when disabled)."""
        return dict(self._mcstat) if self._mcstat else {}

    @property
    def shape_variations(self) -> list[str]:
        """``nominal`` and ``{datacard_name}Up/Down`` of every shape systematic."""
        return ["nominal", *self.systematics.variations_names]

    @property
    def bin(self) -> str:
        """Bin name: ``[bin_prefix_]category[_bin_suffix]``."""
        name = self.category
        if self.bin_prefix:
            name = f"{self.bin_prefix}_{name}"
        if self.bin_suffix:
            name = f"{name}_{self.bin_suffix}"
        return name

    @property
    def observation(self) -> float:
        """Sum of ``data_obs`` (-1 without data, as PocketCoffea writes)."""
        return float(self._data[0].sum()) if self._data is not None else -1

    def rate(self, process: str, systematic: str = "nominal") -> float:
        """Sum of a column's template, as written to the card and the ROOT file."""
        return float(self.template(process, systematic)[0].sum())

    @property
    def imax(self) -> int:
        """Number of bins (one per card)."""
        return 1

    @property
    def jmax(self) -> int:
        """Number of columns minus one."""
        return self.mc_processes.n_processes - 1

    @property
    def kmax(self) -> int:
        """Number of nuisance rows."""
        return len(self.systematics)

    @property
    def histogram(self) -> Any:
        """All MC templates as ``Hist(process, variation, observable)``.

        Variations that do not apply to a column hold its nominal.
        """
        import hist

        h = hist.Hist(
            hist.axis.StrCategory(list(self._mc), name="process"),
            hist.axis.StrCategory(self.shape_variations, name="variation"),
            self._axis,
            storage=hist.storage.Weight(),
        )
        view = h.view()
        for i, column in enumerate(self._mc):
            for j, variation in enumerate(self.shape_variations):
                view.value[i, j], view.variance[i, j] = self.template(column, variation)
        return h

    @property
    def data_obs(self) -> Any:
        """``Hist(process=["data_obs"], observable)``, or None without data."""
        if self._data is None:
            return None
        import hist

        h = hist.Hist(hist.axis.StrCategory(["data_obs"], name="process"), self._axis,
                      storage=hist.storage.Weight())  # fmt: skip
        h.view().value[0], h.view().variance[0] = self._data
        return h

    def is_empty_dataset(self, dataset: str) -> bool:
        """Whether the cutflow has no preselected events for ``dataset``."""
        from ._inputs import presel_count

        return not presel_count(self.cutflow, dataset)

    def get_datasets_by_sample(self, sample: str, year: str | None = None) -> list[str]:
        """Datasets of a sample in one year, or in all years of the card."""
        from ._inputs import datasets_for

        periods = self.datasets_metadata["by_datataking_period"]
        years = (
            [str(year)] if year is not None else [y for y in periods if y in self.years]
        )
        return [
            d for y in years for d in datasets_for(self.datasets_metadata, sample, y)
        ]

    # ---- output ---------------------------------------------------------------------

    def to_card(self, shapes_filename: str = "shapes.root") -> Any:
        """The card as a ``hifit._core.datacard.Datacard`` (what ``content`` writes)."""
        dc = _core_datacard()
        card = dc.Datacard()
        card.bins = [self.bin]
        card.observation = [self.observation]
        shapes = dc.ShapeLine()
        shapes.process, shapes.channel, shapes.file = "*", self.bin, shapes_filename
        shapes.nominal, shapes.systematic = "$PROCESS_nominal", "$PROCESS_$SYSTEMATIC"
        card.shapes = [shapes]
        columns, keys = [], []
        for p in self.mc_processes.values():
            for year in p.years:
                c = dc.Column()
                c.bin, c.process = self.bin, f"{p.name}_{year}"
                c.process_id, c.rate = self.process_id[c.process], self.rate(c.process)
                columns.append(c)
                keys.append((p.name, year))
        card.columns = columns
        card.nuisances = [
            self._nuisance(dc, s, keys) for s in self.systematics.values()
        ]
        rate_params = []
        for p in self.mc_processes.values():
            if p.has_rateParam and not p.is_signal:
                for year in p.years:
                    rp = dc.RateParam()
                    rp.name, rp.bin, rp.process = (
                        f"SF_{p.name}",
                        "*",
                        f"{p.name}_{year}",
                    )
                    rp.init, rp.range = 1.0, (0.0, 5.0)
                    rate_params.append(rp)
        card.rate_params = rate_params
        if self._mcstat:
            a = dc.AutoMCStats()
            a.bin, a.threshold = self.bin, float(self.threshold)
            a.include_signal, a.hist_mode = (
                bool(self.include_signal),
                int(self.hist_mode),
            )
            card.auto_mc_stats = [a]
        return card

    @staticmethod
    def _nuisance(dc: Any, syst: Any, keys: list[tuple[str, str]]) -> Any:
        n = dc.Nuisance()
        n.name = syst.datacard_name
        n.kind = getattr(dc.NuisanceKind, syst.typ)
        effects = []
        for process, year in keys:
            e = dc.Effect()
            if syst.applies(process, year):
                value = syst.processes[process]
                e.active = True
                if isinstance(value, tuple):
                    e.asymmetric, e.lo, e.hi = True, value[0], value[1]
                else:
                    e.hi = value
            effects.append(e)
        n.effects = effects
        return n

    def content(self, shapes_filename: str) -> str:
        """The card text, its templates read from ``shapes_filename``."""
        years = ", ".join(self.years)
        comment = f"hifit.stat datacard, category {self.category}, years {years}"
        return _core_datacard().write(self.to_card(shapes_filename), comment)

    def shape_histograms(self) -> dict[str, Any]:
        """ROOT object name -> 1-D ``Weight`` hist, as written by :meth:`dump`."""
        out = {}
        if self._data is not None:
            out["data_obs_nominal"] = to_hist(self._axis, *self._data)
        for p in self.mc_processes.values():
            for year in p.years:
                column = f"{p.name}_{year}"
                out[f"{column}_nominal"] = to_hist(
                    self._axis, *self._mc[column]["nominal"]
                )
                for s in self._shapes_for(p.name, year):
                    for shift in ("Up", "Down"):
                        key = f"{s.datacard_name}{shift}"
                        out[f"{column}_{key}"] = to_hist(
                            self._axis, *self._mc[column][key]
                        )
        return out

    def create_shape_histogram_dict(self, is_data: bool = False) -> dict[str, Any]:
        """PocketCoffea's name for :meth:`shape_histograms`, split into data / MC."""
        return {
            k: v for k, v in self.shape_histograms().items()
            if k.startswith("data_obs_") == is_data
        }  # fmt: skip

    def templates(self) -> dict[tuple[str, str, str], Any]:
        """``{(bin, process, variation): Histogram}`` for ``build_model``.

        ``variation`` is ``""`` for the nominal, ``"<nuisance>Up/Down"`` otherwise;
        process ``"data_obs"`` is the data.
        """
        dc = _core_datacard()
        edges = [float(e) for e in self._axis.edges]

        def histogram(t: Template) -> Any:
            return dc.Histogram(t[0].tolist(), t[1].tolist(), edges)

        out = {}
        if self._data is not None:
            out[(self.bin, "data_obs", "")] = histogram(self._data)
        for p in self.mc_processes.values():
            for year in p.years:
                column = f"{p.name}_{year}"
                out[(self.bin, column, "")] = histogram(self._mc[column]["nominal"])
                for s in self._shapes_for(p.name, year):
                    for shift in ("Up", "Down"):
                        key = f"{s.datacard_name}{shift}"
                        out[(self.bin, column, key)] = histogram(self._mc[column][key])
        return out

    def model(self, **options: Any) -> tuple[Any, Any]:
        """``(hifit.Model, data)`` of this card as text2workspace builds it.

        Fit it directly, e.g. ``hifit.infer.mle.fit(data, model)``; ``options`` go to
        ``_core.datacard.build_model`` (``poi_map``, ``poi_range``, ...).
        """
        import numpy as np

        from ..model import Model

        built = _core_datacard().build_model(
            self.to_card("shapes.root"), self.templates(), **options
        )
        return Model(built.model), np.asarray(built.data)

    def dump(
        self,
        directory: str | os.PathLike[str],
        card_name: str = "datacard.txt",
        shapes_name: str = "shapes.root",
    ) -> None:
        """Write the card and its shapes ROOT file into ``directory`` (atomically).

        The shapes file is written first, so a card never names a missing file.
        """
        directory = os.fspath(directory)
        os.makedirs(directory, exist_ok=True)
        text = self.content(shapes_name)
        write_root(os.path.join(directory, shapes_name), self.shape_histograms())
        write_text_atomic(os.path.join(directory, card_name), text)

    def __repr__(self) -> str:
        return (
            f"Datacard(category={self.category!r}, bin={self.bin!r}, "
            f"years={self.years!r}, "
            f"columns={list(self._mc)!r}, systematics={list(self.systematics)!r}, "
            f"has_data={self.has_data}, mcstat={self.mcstat_config or False!r})"
        )

    def __str__(self) -> str:
        processes = list(self.mc_processes) + list(self.data_processes or {})
        return (
            "Datacard(\n"
            f"  category={self.category!r}, bin={self.bin!r},\n"
            f"  years={self.years},\n"
            f"  processes={processes},\n"
            f"  systematics={list(self.systematics)},\n"
            f"  has_data={self.has_data},\n"
            f"  mcstat={self.mcstat_config or False}\n"
            ")"
        )


def combine_datacards(
    datacards: Mapping[str, Datacard],
    directory: str | os.PathLike[str],
    path: str = "combine_cards.sh",
    card_name: str = "datacard_combined.txt",
    workspace_name: str = "workspace.root",
    channel_masks: bool = False,
) -> None:
    """Write the script that runs ``combineCards.py`` and ``text2workspace.py``.

    Parameters
    ----------
    datacards : dict
        ``{card file name (relative to directory): Datacard}``; each card's bin name is
        its channel label, so bin names must differ.
    directory : path
        Where the script is written (it ``cd``s there before running).
    path, card_name, workspace_name : str
        Script name (must end in ``.sh``), combined card and workspace file names.
    channel_masks : bool
        Add ``--channel-masks`` to ``text2workspace.py``.
    """
    if not str(path).endswith(".sh"):
        msg = f"Output file must be a bash script with a .sh extension, got {path!r}"
        raise ValueError(msg)
    labels = [card.bin for card in datacards.values()]
    dup = sorted({b for b in labels if labels.count(b) > 1})
    if dup:
        msg = f"combine_datacards: cards share bin name(s) {', '.join(dup)}"
        raise ValueError(msg)
    if not datacards:
        msg = "combine_datacards: no datacards given"
        raise ValueError(msg)
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    q = shlex.quote
    args = " ".join(f"{card.bin}={q(str(name))}" for name, card in datacards.items())
    t2w = f"text2workspace.py {q(card_name)} -o {q(workspace_name)}"
    if channel_masks:
        t2w += " --channel-masks"
    script = (
        "#!/bin/bash\n"
        "set -e\n"
        'cd "$(dirname "$0")"\n'
        f"combineCards.py {args} > {q(card_name)}\n"
        f"{t2w}\n"
    )
    output = os.path.join(directory, path)
    notice(f"Writing combination script to {output}", verbose=False)
    write_text_atomic(output, script, mode=0o755)
