"""Shared pieces of the commands: the group, input options, loading, output."""

from __future__ import annotations

import difflib
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click
import numpy as np

from .. import _core
from ..exceptions import HifitError
from ..io import write_json_atomic
from ..model import Model
from ..pyhf_workspace import PatchSet, Workspace
from ._group import cli  # noqa: F401  (re-exported: the commands register on it)

CARD_SUFFIXES = (".txt", ".dat", ".card")


CARD_KEYWORDS = ("imax", "jmax", "kmax", "shapes", "bin", "observation")
CONFIG_SUFFIXES = (".yml", ".yaml")


def is_datacard(path: str) -> bool:
    """A Combine datacard: by its suffix, or (any other name but .json) by its first
    keyword line."""
    lower = path.lower()
    if lower.endswith(CARD_SUFFIXES):
        return True
    if lower.endswith((".json", *CONFIG_SUFFIXES)):
        return False
    if not os.path.isfile(path):  # a device or FIFO: refused by the JSON reader
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    for line in head.splitlines():
        word = line.split()[0] if line.split() else ""
        if word and not word.startswith(("#", "-")):
            return word in CARD_KEYWORDS
    return False


def refuse_config(path: str) -> None:
    if path.lower().endswith(CONFIG_SUFFIXES):
        raise click.UsageError(
            f"{path} is a cabinetry config, not a workspace: use `hifit run {path} -o "
            f"OUTDIR` for the whole chain or `hifit workspace {path} WS.json` first"
        )


def unknown_name(name: str, known: Sequence[str], what: str, hint: str) -> NoReturn:
    """A BadParameter for a name that does not exist, with the nearest names."""
    near = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    suggestion = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    # patches are named as the C++ patchset reader names them
    shown = f'"{name}"' if what == "patch" else repr(name)
    raise click.BadParameter(f"no {what} named {shown}{suggestion}", param_hint=hint)


def _store_card_option(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault("hifit_card", {})[param.name] = value
    return value


def workspace_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """WORKSPACE argument (pyhf JSON or Combine datacard), --patchset/--patch,
    --measurement and the datacard options (kept in the click context)."""
    card = {"expose_value": False, "callback": _store_card_option}
    options = [
        click.argument("workspace", type=click.Path(dir_okay=False)),
        click.option(
            "--patchset", type=click.Path(dir_okay=False), help="pyhf patchset JSON."
        ),
        click.option("--patch", help="Name of the patch to apply from --patchset."),
        click.option("--measurement", help="Measurement name (default: the first)."),
        click.option(
            "--mass",
            type=float,
            default=120.0,
            show_default=True,
            help="Datacards: value of $MASS in shapes lines.",
            **card,
        ),
        click.option(
            "--poi-map",
            multiple=True,
            metavar="PROCESS=POI",
            help="Datacards: signal processes (glob) scaled by their own POI, "
            "e.g. 'ggH*=r_ggH' (repeatable; default: one POI r on all signals).",
            **card,
        ),
        click.option(
            "--poi-range",
            metavar="LO,HI",
            default="0,20",
            show_default=True,
            help="Datacards: range of the POIs.",
            **card,
        ),
        click.option(
            "--mask",
            multiple=True,
            metavar="BIN",
            help="Datacards: drop this channel's Poisson terms, keep its "
            "constraints (repeatable).",
            **card,
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-o",
        "--output-file",
        type=click.Path(dir_okay=False),
        help="Write the results as JSON.",
    )(func)


def jobs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Threads for independent fits (0: one per core).",
    )(func)


def load_workspace(
    workspace: str, patchset: str | None, patch: str | None
) -> Workspace:
    if patch is not None and patchset is None:
        raise click.UsageError("--patch needs --patchset")
    refuse_config(workspace)
    ws = Workspace.load(workspace)
    if patchset is None:
        return ws
    if patch is None:
        raise click.UsageError("--patchset and --patch must be given together")
    patches = PatchSet.load(patchset)
    if patch not in patches.patch_names:
        unknown_name(patch, patches.patch_names, "patch", "--patch")
    return patches.apply(ws, patch)


def load_model(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    *,
    no_poi: bool = False,
    need_poi: bool = False,
) -> tuple[Workspace | None, Model, np.ndarray]:
    """Workspace, model and data. Without --no-poi a model whose POI only exists after
    a signal patch (a background-only file) falls back to no POI with a note.
    Datacards give no workspace (None)."""
    if is_datacard(workspace):
        built = load_card_model(workspace, patchset, no_poi)
        _check_fit_memory(workspace, built.model)
        return None, built.model, built.data
    ws = load_workspace(workspace, patchset, patch)
    model, data = _workspace_model(ws, workspace, measurement, no_poi, need_poi)
    return ws, model, data


def require_parameters(model: Model, source: str) -> None:
    """A model without any parameter has nothing to fit or test (pyhf refuses to
    build it: "No parameters specified for the Model")."""
    if model.config.npars == 0:
        raise click.UsageError(
            f"{source}: the model has no parameters (no modifiers, no POI); "
            "there is nothing to fit"
        )


def _workspace_model(
    ws: Workspace, source: str, measurement: str | None, no_poi: bool, need_poi: bool
) -> tuple[Model, np.ndarray]:
    if no_poi:
        model = ws.model(measurement_name=measurement, poi_name=None)
    else:
        try:
            model = ws.model(measurement_name=measurement)
        except HifitError as err:
            if need_poi or "parameter of interest" not in str(err):
                raise
            model = ws.model(measurement_name=measurement, poi_name=None)
            require_parameters(model, source)
            click.echo(
                "note: the measurement's POI is not in the model; using no POI",
                err=True,
            )
    require_parameters(model, source)
    if need_poi and model.config.poi_index is None:
        raise click.UsageError(
            "this command needs a model with a parameter of interest"
        )
    _check_fit_memory(source, model)
    return model, ws.data(model)


def _check_fit_memory(path: str, model: Model) -> None:
    """A model too large for a dense fit is refused naming the user's file."""
    try:
        _core.check_dense_fit_memory(model._model)
    except HifitError as err:
        raise type(err)(f"{path}: {err}") from None


def load_card_model(path: str, patchset: str | None, no_poi: bool) -> Any:
    """Combine's model of a datacard, with the card options of the current command."""
    from .. import datacard

    if patchset is not None or no_poi:
        flag = "--patchset" if patchset is not None else "--no-poi"
        raise click.UsageError(f"{flag} is for pyhf workspaces, not datacards")
    opts = click.get_current_context().meta.get("hifit_card", {})
    lo, sep, hi = str(opts.get("poi_range", "0,20")).partition(",")
    try:
        poi_range = (float(lo), float(hi))
    except ValueError:
        sep = ""
    if not sep:
        raise click.BadParameter(
            f"expected LO,HI, found {opts.get('poi_range')!r}", param_hint="--poi-range"
        )
    try:
        poi_map = datacard.parse_poi_map(opts.get("poi_map", ()))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--poi-map") from None
    built = datacard.load_model(
        path,
        mass=opts.get("mass", 120.0),
        poi_map=poi_map,
        poi_range=poi_range,
        masked_channels=opts.get("mask", ()),
    )
    for note in built.notes:
        click.echo(f"note: {note}", err=True)
    click.get_current_context().meta["hifit_card_pois"] = list(built.pois)
    return built


MAX_GRID_POINTS = 100_000


def finite(value: float, hint: str) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(
            f"expected a finite number, found {value}", param_hint=hint
        )
    return value


def parse_grid(spec: str, hint: str) -> np.ndarray:
    """LO:HI:N as N evenly spaced points; LO < HI unless N is 1."""
    try:
        lo_text, hi_text, n_text = spec.split(":")
        lo, hi, n = float(lo_text), float(hi_text), int(n_text)
    except ValueError:
        raise click.BadParameter(
            f"expected LO:HI:N, found {spec!r}", param_hint=hint
        ) from None
    finite(lo, hint)
    finite(hi, hint)
    if n < 1:
        raise click.BadParameter(f"{spec!r} has no points (N < 1)", param_hint=hint)
    if n > MAX_GRID_POINTS:
        raise click.BadParameter(
            f"{spec!r} asks for {n} points, at most {MAX_GRID_POINTS} are allowed",
            param_hint=hint,
        )
    if n > 1 and not lo < hi:
        raise click.BadParameter(
            f"{spec!r} is empty: LO must be below HI", param_hint=hint
        )
    return np.linspace(lo, hi, n)


def check_within_bounds(model: Model, name: str, values: Any, hint: str) -> None:
    """Values of a parameter that a fit would hold fixed must lie in its bounds."""
    lo, hi = model.config.suggested_bounds()[model.config.par_names.index(name)]
    outside = [float(v) for v in np.ravel(values) if not lo <= v <= hi]
    if outside:
        raise click.BadParameter(
            f"{outside[0]:g} is outside the bounds [{lo:g}, {hi:g}] of {name}",
            param_hint=hint,
        )


def exit_if_failed(valid: bool, message: str) -> None:
    """A result whose inner fits failed is not a result: say which, exit 1 (no file
    is written)."""
    if not valid:
        click.echo(f"hifit: {message or 'a fit did not converge'}", err=True)
        sys.exit(1)


def resolve_jobs(jobs: int) -> int:
    import os

    return jobs or os.cpu_count() or 1


def write_output(output_file: str | None, payload: dict[str, Any]) -> None:
    if output_file:
        write_json_atomic(output_file, payload)


# --- what every inference command fits: --asimov and --fix/--freeze ---------------

ASIMOV_HELP = (
    "Fit the Asimov data set instead of the observed data. pyhf workspaces: "
    "cabinetry's (model_utils.asimov_data: every parameter at its pre-fit value, "
    "the POI at its initial value, auxiliary data included). Datacards: Combine's "
    "-t -1 (nuisances at their pre-fit values, the POIs at 0 as --expectSignal 0 "
    "unless --fix gives them a value, global observables as observed)."
)


def fit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--asimov and --fix/--freeze NAME[=VALUE], shared by every inference command;
    :func:`fit_settings` turns them into the data and fit arguments."""
    func = click.option(
        "--fix",
        "--freeze",
        "fix",
        multiple=True,
        metavar="NAME[=VALUE]",
        help="Hold a parameter fixed, at VALUE or at its initial value (Combine's "
        "--freezeParameters with --setParameters); comma lists and repeats allowed.",
    )(func)
    return click.option("--asimov", is_flag=True, help=ASIMOV_HELP)(func)


def parse_fixes(items: Sequence[str], hint: str = "--fix") -> dict[str, float | None]:
    """NAME or NAME=VALUE per item (or comma list): the value, None for 'its initial
    value'. A name given twice or a value that is not a finite number is refused."""
    fixes: dict[str, float | None] = {}
    for item in (part for text in items for part in text.split(",")):
        name, sep, text = (s.strip() for s in item.partition("="))
        value = None
        if sep:
            try:
                value = float(text)
            except ValueError:
                name = ""
        if not name:
            raise click.BadParameter(
                f"expected NAME or NAME=VALUE, found {item!r}", param_hint=hint
            )
        if name in fixes:
            raise click.BadParameter(f"{name!r} is given twice", param_hint=hint)
        fixes[name] = None if value is None else finite(value, hint)
    return fixes


class FitSettings:
    """The data a command fits (observed or Asimov) and the initial values and
    fixed flags of its fits, with --fix applied."""

    def __init__(
        self, data: np.ndarray, init: list[float], fixed: list[bool], asimov: bool
    ) -> None:
        self.data, self.init, self.fixed, self.asimov = data, init, fixed, asimov

    def kwargs(self) -> dict[str, Any]:
        """init_pars and fixed_params for hifit.infer."""
        return {"init_pars": self.init, "fixed_params": self.fixed}

    def require_free(self, model: Model, name: str, what: str) -> None:
        """Refuse (exit 2) a command on a parameter that --fix holds fixed."""
        i = model.config.par_names.index(name)
        if self.fixed[i] and not model.config.suggested_fixed()[i]:
            raise click.BadParameter(
                f"{name!r} is fixed by --fix; {what} needs it free", param_hint="--fix"
            )


def fit_settings(
    model: Model,
    data: np.ndarray,
    fix: Sequence[str],
    asimov: bool,
    *,
    card: bool,
    preset: dict[str, float] | None = None,
) -> FitSettings:
    """Data, initial values and fixed flags of a command: ``preset`` (fixed by the
    command itself, e.g. --no-poi on a card) and --fix applied, and with --asimov
    the Asimov data set (see ASIMOV_HELP) in place of the observed data."""
    config = model.config
    fixes = {**(preset or {}), **parse_fixes(fix)}
    init, fixed = list(config.suggested_init()), list(config.suggested_fixed())
    for name, value in fixes.items():
        if name not in config.par_names:
            unknown_name(name, config.par_names, "parameter", "--fix")
        i = config.par_names.index(name)
        if value is not None:
            check_within_bounds(model, name, [value], "--fix")
            init[i] = value
        fixed[i] = True
    if asimov:
        data = _card_asimov(model, data, init, fixed, fixes) if card else _asimov(model)
    return FitSettings(np.asarray(data, dtype=float), init, fixed, asimov)


def _asimov(model: Model) -> np.ndarray:
    """cabinetry's Asimov data set (model_utils.asimov_data)."""
    from ..cabinetry.model_utils import asimov_data

    return np.asarray(asimov_data(model), dtype=float)


def _card_asimov(
    model: Model,
    data: np.ndarray,
    init: list[float],
    fixed: list[bool],
    fixes: dict[str, float | None],
) -> np.ndarray:
    """Combine's -t -1 data set: a-priori, at the parameters as set, the POIs at 0
    (--expectSignal 0) unless --fix set them (hifit.combine.setup's generation
    point); the POIs are held fixed as Combine holds them for the generating fit."""
    config = model.config
    if config.poi_index is None:
        raise click.UsageError("--asimov on a datacard needs a signal process (a POI)")
    pars, held = list(init), list(fixed)
    pois = [n for n in config.par_names if n in _card_pois(model)]
    for name in pois:
        i = config.par_names.index(name)
        if fixes.get(name) is None:
            pars[i] = 0.0
        held[i] = True
    bounds = [tuple(map(float, b)) for b in config.suggested_bounds()]
    asimov, _ = _core.asimov_data(
        model._model, np.asarray(data, dtype=float), float(pars[config.poi_index]),
        "prefit", pars, bounds, held,
    )  # fmt: skip
    return np.asarray(asimov, dtype=float)


def _card_pois(model: Model) -> list[str]:
    """The POIs of a card's model (its signal strengths; see hifit.datacard)."""
    pois = click.get_current_context().meta.get("hifit_card_pois")
    return list(pois) if pois else [model.config.poi_name]
