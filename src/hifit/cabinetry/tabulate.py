"""Yield tables: model prediction and data per bin and per channel.

Same function, rows, headers, cell formats and file names as ``cabinetry.tabulate``
(:func:`yields`), so notebooks run unchanged with ``import hifit as cabinetry``.
Formatting is done by the ``tabulate`` package, as in cabinetry.

The prediction is any object with cabinetry's ``ModelPrediction`` fields:
``model`` (a :class:`hifit.Model`, or any model whose ``config`` has ``channels``,
``samples`` and ``channel_nbins``), ``model_yields[channel][sample][bin]``,
``total_stdev_model_bins[channel][sample + 1][bin]``,
``total_stdev_model_channels[channel][sample + 1]`` (the last "sample" is the total)
and ``label`` ("pre-fit" or "post-fit").
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import tabulate as _tabulate

from ..exceptions import InvalidArgument
from ..io import write_text_atomic

__all__ = ["yields"]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

Table = list[dict[str, Any]]

# Formats that cannot show a line break inside a header cell.
_SINGLE_LINE_HEADER_FORMATS = ("html", "latex", "tsv")
_TEXT_FORMATS = ("plain", "simple", "tsv")


def _bin_header(channel: str, i_bin: int, *, unique: bool = True) -> str:
    """Column header "{channel}\\nbin {i+1}".

    ``unique=False`` leaves out the channel after its first bin, for the logged
    table; the returned rows need unique keys.
    """
    if unique or i_bin == 0:
        return f"{channel}\nbin {i_bin + 1}"
    return f"\nbin {i_bin + 1}"


def _cell(value: float, stdev: float) -> str:
    return f"{value:.2f} \u00b1 {stdev:.2f}"


def _data_per_channel(config: Any, data: Sequence[float]) -> list[np.ndarray]:
    """Observed yields split by channel; auxiliary data after them is dropped."""
    observed = np.asarray(data, dtype=float).reshape(-1)
    n_bins = sum(config.channel_nbins[ch] for ch in config.channels)
    if observed.size < n_bins:
        raise InvalidArgument(
            f"tabulate.yields: data has {observed.size} entries, "
            f"the model has {n_bins} bins"
        )
    per_channel = []
    start = 0
    for channel in config.channels:
        stop = start + config.channel_nbins[channel]
        per_channel.append(observed[start:stop])
        start = stop
    return per_channel


def _filter_channels(config: Any, channels: str | Sequence[str] | None) -> list[str]:
    """Requested channels that exist in the model, in the requested order."""
    available = list(config.channels)
    if channels is None:
        return available
    requested = [channels] if isinstance(channels, str) else list(channels)
    kept = [ch for ch in requested if ch in available]
    if not kept:
        log.warning(
            "channel(s) %s not found in model, available channel(s): %s",
            requested,
            available,
        )
    return kept


def _yields_per_bin(
    prediction: Any, data: list[np.ndarray], channels: list[str]
) -> Table:
    """Rows per sample, then total and data; one column per bin."""
    config = prediction.model.config
    index = {ch: config.channels.index(ch) for ch in channels}
    stdev = prediction.total_stdev_model_bins
    rows: Table = []
    for i_sample, sample in enumerate(config.samples):
        row = {"sample": sample}
        for ch in channels:
            i_ch = index[ch]
            for i_bin in range(config.channel_nbins[ch]):
                row[_bin_header(ch, i_bin)] = _cell(
                    prediction.model_yields[i_ch][i_sample][i_bin],
                    stdev[i_ch][i_sample][i_bin],
                )
        rows.append(row)

    total: dict[str, Any] = {"sample": "total"}
    observed: dict[str, Any] = {"sample": "data"}
    log_headers = {}
    for ch in channels:
        i_ch = index[ch]
        sample_sum = np.sum(prediction.model_yields[i_ch], axis=0)
        for i_bin in range(config.channel_nbins[ch]):
            key = _bin_header(ch, i_bin)
            log_headers[key] = _bin_header(ch, i_bin, unique=False)
            total[key] = _cell(sample_sum[i_bin], stdev[i_ch][-1][i_bin])
            observed[key] = f"{data[i_ch][i_bin]:.2f}"
    rows += [total, observed]

    log.info(
        "yields per bin for %s model prediction:\n%s",
        prediction.label,
        _tabulate.tabulate(rows, headers=log_headers, tablefmt="fancy_grid"),
    )
    return rows


def _yields_per_channel(
    prediction: Any, data: list[np.ndarray], channels: list[str]
) -> Table:
    """Rows per sample, then total and data; one column per channel (bins summed)."""
    config = prediction.model.config
    index = {ch: config.channels.index(ch) for ch in channels}
    stdev = prediction.total_stdev_model_channels
    # Sums over bins, indexed [channel][sample].
    sample_sums = {
        ch: np.sum(prediction.model_yields[index[ch]], axis=-1) for ch in channels
    }

    rows: Table = []
    for i_sample, sample in enumerate(config.samples):
        row = {"sample": sample}
        for ch in channels:
            row[ch] = _cell(sample_sums[ch][i_sample], stdev[index[ch]][i_sample])
        rows.append(row)

    total: dict[str, Any] = {"sample": "total"}
    observed: dict[str, Any] = {"sample": "data"}
    for ch in channels:
        total[ch] = _cell(np.sum(sample_sums[ch]), stdev[index[ch]][-1])
        # Python's sum adds in order, as cabinetry does (numpy sums pairwise).
        observed[ch] = f"{sum(data[index[ch]]):.2f}"
    rows += [total, observed]

    log.info(
        "yields per channel for %s model prediction:\n%s",
        prediction.label,
        _tabulate.tabulate(rows, headers="keys", tablefmt="fancy_grid"),
    )
    return rows


def _file_suffix(table_format: str) -> str:
    if table_format in _TEXT_FORMATS:
        return "txt"
    if table_format == "latex":
        return "tex"
    return table_format


def _save_tables(
    tables: dict[str, Table], folder: pathlib.Path, label: str, table_format: str
) -> None:
    """Write ``{folder}/{table name}_{label}.{suffix}`` for every table."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if name == "yields_per_bin" and table_format in _SINGLE_LINE_HEADER_FORMATS:
            # Rewritten in place, as cabinetry does: the returned per-bin rows then
            # carry the same "{channel}, bin {i}" keys as the saved file.
            rows[:] = [
                {key.replace("\n", ", "): cell for key, cell in row.items()}
                for row in rows
            ]
        path = folder / f"{name}_{label}.{_file_suffix(table_format)}"
        text = _tabulate.tabulate(rows, headers="keys", tablefmt=table_format)
        log.info("saving table as %s", path)
        write_text_atomic(path, text + "\n")


def yields(
    model_prediction: Any,
    data: Sequence[float],
    *,
    channels: str | Sequence[str] | None = None,
    per_bin: bool = True,
    per_channel: bool = False,
    table_folder: str | pathlib.Path = "tables",
    table_format: str = "simple",
    save_tables: bool = True,
) -> dict[str, Table]:
    """Tables of predicted and observed yields, per bin and/or per channel.

    Args:
        model_prediction: a ``ModelPrediction`` (see the module docstring).
        data: observed yields in model channel order; auxiliary data after them
            is ignored.
        channels: a channel name or list of names to include (default: all).
        per_bin: make the ``yields_per_bin`` table (one column per bin).
        per_channel: make the ``yields_per_channel`` table (bins summed).
        table_folder: where tables are written.
        table_format: any ``tabulate`` format (simple, plain, tsv, latex, html ...).
        save_tables: whether to write the tables to ``table_folder``.

    Returns:
        ``{"yields_per_bin": rows, "yields_per_channel": rows}`` (only the tables
        asked for), each row a dict: ``{"sample": name, column: cell, ...}``.
    """
    tables: dict[str, Table] = {}
    if not (per_bin or per_channel):
        log.warning(
            "requested neither yields per bin nor per channel, no table produced"
        )
        return tables

    config = model_prediction.model.config
    data_yields = _data_per_channel(config, data)
    selected = _filter_channels(config, channels)
    if not selected:
        return tables

    if per_bin:
        tables["yields_per_bin"] = _yields_per_bin(
            model_prediction, data_yields, selected
        )
    if per_channel:
        tables["yields_per_channel"] = _yields_per_channel(
            model_prediction, data_yields, selected
        )
    if save_tables:
        _save_tables(
            tables, pathlib.Path(table_folder), model_prediction.label, table_format
        )
    return tables
