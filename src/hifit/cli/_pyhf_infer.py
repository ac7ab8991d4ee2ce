"""``hifit pyhf fit|cls`` (pyhf's inference commands; hifit's engine behind them)."""

from __future__ import annotations

import os

import click

from .. import infer
from ..pyhf_workspace import Workspace
from . import _executor
from ._common import exit_if_failed
from ._pyhf import (
    apply_patch_files,
    check_output,
    emit_document,
    output_file_option,
    pyhf_group,
    read_workspace,
)

# Accepted for compatibility: hifit has one engine (C++, double precision) and one
# minimizer, so these choices do not change the computation.
BACKENDS = ["numpy", "pytorch", "tensorflow", "jax", "np", "torch", "tf"]
OPTIMIZERS = ["scipy", "minuit"]
# pyhf's ToyCalculator default.
PYHF_NTOYS = 2000


def engine_options(func):  # type: ignore[no-untyped-def]
    func = click.option(
        "--optconf",
        multiple=True,
        metavar="KEY=VALUE",
        help="Optimizer options (accepted; hifit's minimizer is configured itself).",
    )(func)
    func = click.option(
        "--optimizer",
        type=click.Choice(OPTIMIZERS),
        default="scipy",
        help="The optimizer used for the calculation (accepted; hifit uses its own).",
    )(func)
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="numpy",
        help="The tensor backend used for the calculation "
        "(accepted; hifit's core is C++).",
    )(func)


def _patched_workspace(
    workspace: str,
    output_file: str | None,
    patch: tuple[str, ...],
    optconf: tuple[str, ...],
) -> Workspace:
    """What fit and cls share: the options checked before any work, then the workspace
    with its patches applied."""
    for item in optconf:
        if "=" not in item:
            raise click.BadParameter(
                f"{item} is not a valid KEY=VALUE pair", param_hint="--optconf"
            )
    check_output(output_file, (workspace, *patch))
    return apply_patch_files(read_workspace(workspace), patch)


@pyhf_group.command()
@click.argument("workspace", default="-")
@output_file_option
@click.option("--measurement", default=None)
@click.option("-p", "--patch", multiple=True)
@click.option(
    "--value",
    default=False,
    is_flag=True,
    help="Flag for returning the fitted value of the objective function.",
)
@engine_options
def fit(
    workspace: str,
    output_file: str | None,
    measurement: str | None,
    patch: tuple[str, ...],
    value: bool,
    backend: str,
    optimizer: str,
    optconf: tuple[str, ...],
) -> None:
    """Perform a maximum likelihood fit for a given pyhf workspace."""
    del backend, optimizer
    ws = _patched_workspace(workspace, output_file, patch, optconf)
    model = ws.model(measurement_name=measurement)
    result = infer.fit(ws.data(model), model)
    exit_if_failed(result.valid, f"the maximum-likelihood fit failed: {result.status}")
    pars = result.bestfit.tolist()
    out: dict[str, object] = {
        "mle_parameters": {
            p.name: pars[p.offset : p.offset + p.size] for p in model.config.paramsets
        }
    }
    if value:
        out["twice_nll"] = result.twice_nll
    emit_document(out, output_file)


@pyhf_group.command()
@click.argument("workspace", default="-")
@output_file_option
@click.option("--measurement", default=None)
@click.option("-p", "--patch", multiple=True)
@click.option("--test-poi", default=1.0)
@click.option("--test-stat", type=click.Choice(["q", "qtilde"]), default="qtilde")
@click.option(
    "--calctype", type=click.Choice(["asymptotics", "toybased"]), default="asymptotics"
)
@engine_options
@_executor.executor_options
def cls(
    workspace: str,
    output_file: str | None,
    measurement: str | None,
    patch: tuple[str, ...],
    test_poi: float,
    test_stat: str,
    calctype: str,
    backend: str,
    optimizer: str,
    optconf: tuple[str, ...],
) -> None:
    """Compute CLs value(s) for a given pyhf workspace."""
    del backend, optimizer
    ws = _patched_workspace(workspace, output_file, patch, optconf)
    model = ws.model(
        measurement_name=measurement,
        modifier_settings={
            "normsys": {"interpcode": "code4"},
            "histosys": {"interpcode": "code4p"},
        },
    )
    if model.config.poi_index is None:
        raise click.BadParameter(
            "the measurement has no parameter of interest", param_hint="WORKSPACE"
        )
    data = ws.data(model)
    if calctype == "toybased":
        run = {
            "command": "pyhf cls",
            "workspace": workspace,
            "measurement": measurement,
            "patch": list(patch),
            "test_poi": test_poi,
            "test_stat": test_stat,
            "ntoys": PYHF_NTOYS,
        }
        with (
            _executor.checkpoint(output_file, run) as ckpt,
            _executor.executor(os.cpu_count() or 1) as executor,
        ):
            r = infer.toys.hypotest(
                test_poi,
                data,
                model,
                ntoys=PYHF_NTOYS,
                test_stat=test_stat,
                executor=executor,
                checkpoint=ckpt.job("toys") if ckpt else None,
                progress=True,
            )
    else:
        r = infer.hypotest(test_poi, data, model, test_stat=test_stat)
    exit_if_failed(
        r.valid, r.message or f"the fits of the CLs at mu = {test_poi:g} failed"
    )
    emit_document({"CLs_obs": r.CLs_obs, "CLs_exp": list(r.CLs_exp)}, output_file)
    _executor.remove_checkpoint(output_file)
