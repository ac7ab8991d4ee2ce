"""``hifit pyhf patchset extract|apply|verify|inspect``."""

from __future__ import annotations

import json

import click

from ._pyhf import (
    check_output,
    emit_document,
    output_file_option,
    pyhf_group,
    read_patchset,
    read_workspace,
)


@pyhf_group.group(name="patchset")
def patchset_group() -> None:
    """Operations involving patchsets."""


def _known_name(patchset, name: str | None) -> str:  # type: ignore[no-untyped-def]
    if name is None or name not in patchset.patch_names:
        raise click.BadParameter(
            f'No patch associated with "{name}" is defined in patchset.',
            param_hint="--name",
        )
    return name


@patchset_group.command()
@click.argument("patchset", default="-")
@click.option("--name", help="The name of the patch to extract.", default=None)
@output_file_option
@click.option(
    "--with-metadata/--without-metadata",
    default=False,
    help="Include patchset metadata in output.",
)
def extract(
    patchset: str, name: str | None, output_file: str | None, with_metadata: bool
) -> None:
    """Extract a patch from a patchset."""
    check_output(output_file, (patchset,))
    ps = read_patchset(patchset)
    name = _known_name(ps, name)
    patch = ps.patch(name)
    if with_metadata:
        metadata = {"name": name, "values": ps.values(name)}
        metadata.update(ps.metadata)
        emit_document({"metadata": metadata, "patch": patch}, output_file)
    else:
        emit_document(patch, output_file)


@patchset_group.command()
@click.argument("background-only", default="-")
@click.argument("patchset", default="-")
@click.option("--name", help="The name of the patch to extract.", default=None)
@output_file_option
def apply(
    background_only: str, patchset: str, name: str | None, output_file: str | None
) -> None:
    """Apply a patch from patchset to the background-only workspace specification."""
    check_output(output_file, (background_only, patchset))
    ws = read_workspace(background_only)
    ps = read_patchset(patchset)
    name = _known_name(ps, name)
    ps.verify(ws)
    # The patch applied to the document itself, so that every key is kept as pyhf does.
    patched = ws.apply_patch(json.dumps(ps.patch(name)), source=f"{patchset}#{name}")
    emit_document(patched.spec(), output_file)


@patchset_group.command()
@click.argument("background-only", default="-")
@click.argument("patchset", default="-")
def verify(background_only: str, patchset: str) -> None:
    """Verify the patchset digests against a background-only workspace specification."""
    ps = read_patchset(patchset)
    ps.verify(read_workspace(background_only))
    click.echo("All good.")


@patchset_group.command()
@click.argument("patchset", default="-")
def inspect(patchset: str) -> None:
    """Inspect the PatchSet (e.g. list individual patches)."""
    ps = read_patchset(patchset)
    click.echo(f"\n    {len(ps)} patches found in Patchset")
    click.echo("---------------------------------\n")
    for name in ps.patch_names:
        click.echo(name)
