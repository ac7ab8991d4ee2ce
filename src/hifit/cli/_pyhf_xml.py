"""``hifit pyhf xml2json|json2xml``: HistFactory XML + ROOT files <-> pyhf JSON."""

from __future__ import annotations

from pathlib import Path

import click

from ._pyhf import (
    apply_patch_files,
    check_output,
    emit_document,
    output_file_option,
    pyhf_group,
)


def _mount(value: str) -> tuple[Path, Path]:
    host, sep, mounted = value.partition(":")
    if not sep or not host or not mounted:
        raise click.BadParameter(
            f"{value}: expected HOST_PATH:XML_PATH", param_hint="--mount"
        )
    if not Path(host).exists():
        raise click.BadParameter(
            f"{host}: no such file or folder", param_hint="--mount"
        )
    return Path(host).resolve(), Path(mounted)


@pyhf_group.command()
@click.argument("entrypoint-xml", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--basedir",
    type=click.Path(exists=True, file_okay=False),
    default=".",
    help="The base directory for the XML files to point relative to.",
)
@click.option(
    "-v",
    "--mount",
    multiple=True,
    help="HOST_PATH:XML_PATH: files the XML names under XML_PATH "
    "are read from HOST_PATH.",
)
@output_file_option
@click.option(
    "--track-progress/--hide-progress", default=True, help="Accepted (no progress bar)."
)
@click.option("--validation-as-error/--validation-as-warning", default=True)
def xml2json(
    entrypoint_xml: str,
    basedir: str,
    mount: tuple[str, ...],
    output_file: str | None,
    track_progress: bool,
    validation_as_error: bool,
) -> None:
    """Entrypoint XML: The top-level XML file for the PDF definition."""
    del track_progress
    from ..histfactory_xml import read_xml
    from ..pyhf_workspace import Workspace

    check_output(output_file, (entrypoint_xml,))
    spec = read_xml(entrypoint_xml, basedir, [_mount(m) for m in mount])
    try:
        Workspace(spec, source=entrypoint_xml)  # the schema and model checks
    except Exception as err:
        if validation_as_error:
            raise
        click.echo(f"hifit: warning: {err}", err=True)
    emit_document(spec, output_file)


@pyhf_group.command()
@click.argument("workspace", default="-")
@click.option("--output-dir", type=click.Path(file_okay=False), default=".")
@click.option("--specroot", default="config")
@click.option("--dataroot", default="data")
@click.option("--resultprefix", default="FitConfig")
@click.option("-p", "--patch", multiple=True)
def json2xml(
    workspace: str,
    output_dir: str,
    specroot: str,
    dataroot: str,
    resultprefix: str,
    patch: tuple[str, ...],
) -> None:
    """Convert pyhf JSON back to XML + ROOT files."""
    from ..histfactory_xml import write_xml
    from ..io import check_outputs
    from ._pyhf import read_workspace

    check_outputs([], [workspace] if workspace != "-" else [], folders=[output_dir])
    ws = apply_patch_files(read_workspace(workspace), patch)
    write_xml(ws.spec(), output_dir, specroot, dataroot, resultprefix)
