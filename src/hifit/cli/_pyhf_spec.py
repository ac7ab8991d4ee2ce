"""``hifit pyhf inspect|prune|rename|combine|digest|sort`` (pyhf's spec commands)."""

from __future__ import annotations

from typing import Any

import click

from ..pyhf_workspace import Workspace
from ._pyhf import (
    JOINS,
    MODIFIER_TYPES,
    check_output,
    emit_document,
    output_file_option,
    pyhf_dumps,
    pyhf_group,
    read_workspace,
)

# pyhf's names of the constraint kinds of parameter sets.
_CONSTRAINTS = {
    "none": "unconstrained",
    "normal": "constrained_by_normal",
    "poisson": "constrained_by_poisson",
}


@pyhf_group.command()
@click.argument("workspace", default="-")
@output_file_option
@click.option("--measurement", default=None)
def inspect(workspace: str, output_file: str | None, measurement: str | None) -> None:
    """Inspect a pyhf JSON document."""
    del measurement  # accepted, as pyhf does, without effect on the summary
    check_output(output_file, (workspace,))
    ws = read_workspace(workspace)
    result = inspect_summary(ws)
    click.echo(inspect_text(result, ws.get_measurement()["name"]))
    if output_file:
        from ..io import write_text_atomic

        write_text_atomic(output_file, pyhf_dumps(result))


def inspect_summary(ws: Workspace) -> dict[str, Any]:
    model = ws.model()
    nbins = ws.channel_nbins
    modifiers = ws.modifiers
    parameters = sorted(
        (p.name, _CONSTRAINTS.get(p.constraint, p.constraint))
        for p in model.config.paramsets
    )
    return {
        "samples": ws.samples,
        "channels": [(c, nbins[c]) for c in ws.channels],
        "modifiers": dict(modifiers),
        "parameters": parameters,
        "systematics": [
            (name, constraint, [t for n, t in modifiers if n == name])
            for name, constraint in parameters
        ],
        "measurements": [
            (
                m["name"],
                m["config"]["poi"],
                [p["name"] for p in m["config"]["parameters"]],
            )
            for m in ws.spec()["measurements"]
        ],
    }


def inspect_text(result: dict[str, Any], default_measurement: str) -> str:
    """pyhf's inspect tables, character for character."""
    widths = [
        *(len(c) for c, _ in result["channels"]),
        *(len(s) for s in result["samples"]),
        *(len(p) for p, _ in result["parameters"]),
        *(len(m[0]) for m in result["measurements"]),
    ]
    w = max(widths)
    lines = []
    head = f"{{: >{w + len('Summary')}s}}  {{:s}}"
    lines += [head.format("     Summary     ", ""), head.format("-" * 18, "")]
    for key in ("channels", "samples", "parameters", "modifiers"):
        lines.append(f"{key: >{w}s}  {len(result[key])!s}")
    lines.append("")
    lines += [
        f"{'channels': >{w}s}  {'nbins': ^5s}",
        f"{'-' * 10: >{w}s}  {'-' * 5: ^5s}",
    ]
    lines += [f"{c: >{w}s}  {n!s: ^5s}" for c, n in result["channels"]]
    lines.append("")
    lines += [f"{'samples': >{w}s}", f"{'-' * 10: >{w}s}"]
    lines += [f"{s: >{w}s}" for s in result["samples"]]
    lines.append("")
    lines.append(f"{'parameters': >{w}s}  {'constraint': <22s}  modifiers")
    lines.append(f"{'-' * 10: >{w}s}  {'-' * 10: <22s}  {'-' * 10}")
    for name, constraint, types in result["systematics"]:
        lines.append(
            f"{name: >{w}s}  {constraint: <22s}  {','.join(sorted(set(types)))}"
        )
    lines.append("")
    lines.append(f"{'measurement': >{w}s}  {'poi': ^22s}  parameters")
    lines.append(f"{'-' * 10: >{w}s}  {'-' * 10: ^22s}  {'-' * 10}")
    for name, poi, params in result["measurements"]:
        label = ("(*) " if name == default_measurement else "") + name
        lines.append(
            f"{label: >{w}s}  {poi: ^22s}  {','.join(params) if params else '(none)'}"
        )
    lines.append("")
    return "\n".join(lines)


@pyhf_group.command()
@click.argument("workspace", default="-")
@output_file_option
@click.option("-c", "--channel", default=[], multiple=True, metavar="<CHANNEL>...")
@click.option("-s", "--sample", default=[], multiple=True, metavar="<SAMPLE>...")
@click.option("-m", "--modifier", default=[], multiple=True, metavar="<MODIFIER>...")
@click.option(
    "-t",
    "--modifier-type",
    default=[],
    multiple=True,
    type=click.Choice(MODIFIER_TYPES),
)
@click.option("--measurement", default=[], multiple=True, metavar="<MEASUREMENT>...")
def prune(
    workspace: str,
    output_file: str | None,
    channel: tuple[str, ...],
    sample: tuple[str, ...],
    modifier: tuple[str, ...],
    modifier_type: tuple[str, ...],
    measurement: tuple[str, ...],
) -> None:
    """Prune components from the workspace."""
    check_output(output_file, (workspace,))
    ws = read_workspace(workspace).prune(
        channels=channel,
        samples=sample,
        modifiers=modifier,
        modifier_types=modifier_type,
        measurements=measurement,
    )
    emit_document(ws.spec(), output_file)


_PAIR = click.Tuple([str, str])


@pyhf_group.command()
@click.argument("workspace", default="-")
@output_file_option
@click.option(
    "-c",
    "--channel",
    default=[],
    multiple=True,
    type=_PAIR,
    metavar="<PATTERN> <REPLACE>...",
)
@click.option(
    "-s",
    "--sample",
    default=[],
    multiple=True,
    type=_PAIR,
    metavar="<PATTERN> <REPLACE>...",
)
@click.option(
    "-m",
    "--modifier",
    default=[],
    multiple=True,
    type=_PAIR,
    metavar="<PATTERN> <REPLACE>...",
)
@click.option(
    "--measurement",
    default=[],
    multiple=True,
    type=_PAIR,
    metavar="<PATTERN> <REPLACE>...",
)
def rename(
    workspace: str,
    output_file: str | None,
    channel: tuple[tuple[str, str], ...],
    sample: tuple[tuple[str, str], ...],
    modifier: tuple[tuple[str, str], ...],
    measurement: tuple[tuple[str, str], ...],
) -> None:
    """Rename components of the workspace."""
    check_output(output_file, (workspace,))
    ws = read_workspace(workspace).rename(
        channels=dict(channel),
        samples=dict(sample),
        modifiers=dict(modifier),
        measurements=dict(measurement),
    )
    emit_document(ws.spec(), output_file)


@pyhf_group.command()
@click.argument("workspace-one", default="-")
@click.argument("workspace-two", default="-")
@click.option(
    "-j",
    "--join",
    default="none",
    type=click.Choice(JOINS),
    help="The join operation to apply when combining the two workspaces.",
)
@output_file_option
@click.option(
    "--merge-channels/--no-merge-channels",
    default=False,
    help="Whether or not to deeply merge channels. "
    "Can only be done with left/right outer joins.",
)
def combine(
    workspace_one: str,
    workspace_two: str,
    join: str,
    output_file: str | None,
    merge_channels: bool,
) -> None:
    """Combine two workspaces into a single workspace."""
    check_output(output_file, (workspace_one, workspace_two))
    left = read_workspace(workspace_one)
    right = read_workspace(workspace_two)
    combined = Workspace.combine(left, right, join=join, merge_channels=merge_channels)
    emit_document(combined.spec(), output_file)


@pyhf_group.command()
@click.argument("workspace", default="-")
@click.option(
    "-a",
    "--algorithm",
    default=["sha256"],
    multiple=True,
    help="The hashing algorithm used to compute the workspace digest.",
)
@click.option(
    "-j/-p",
    "--json/--plaintext",
    "output_json",
    help="Output the hash values as a JSON dictionary or plaintext strings",
)
def digest(workspace: str, algorithm: tuple[str, ...], output_json: bool) -> None:
    """Use hashing algorithm to calculate the workspace digest."""
    ws = read_workspace(workspace)
    digests = {alg: ws.digest(alg) for alg in algorithm}
    if output_json:
        click.echo(pyhf_dumps(digests))
    else:
        click.echo("\n".join(f"{alg}:{value}" for alg, value in digests.items()))


@pyhf_group.command()
@click.argument("workspace", default="-")
@output_file_option
def sort(workspace: str, output_file: str | None) -> None:
    """Sort the workspace."""
    check_output(output_file, (workspace,))
    emit_document(Workspace.sorted(read_workspace(workspace)).spec(), output_file)
