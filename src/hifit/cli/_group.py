"""The ``hifit`` click group. Commands load on first use: `hifit combine` imports
only the Combine front end, `hifit --help` only click (see COMMANDS)."""

from __future__ import annotations

import importlib

import click

# command name -> the module that registers it (imported when the command runs, or
# for --help)
COMMANDS = {
    "inspect": "_fit",
    "fit": "_fit",
    "cls": "_infer",
    "limit": "_infer",
    "significance": "_infer",
    "scan": "_infer",
    "ranking": "_infer",
    "convert": "_convert",
    "combine-cards": "_cards",
    "combine": "_combine",
    "combine-plot": "_combine_plot",
    "templates": "_workflow",
    "workspace": "_workflow",
    "run": "_workflow",
    "report": "_workflow",
    "cabinetry": "_cabinetry",
    "pyhf": "_pyhf",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            importlib.import_module(f".{COMMANDS[name]}", __package__)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hifit")
def cli() -> None:
    """Fast statistical inference on binned likelihoods.

    Inference commands read a pyhf JSON workspace (a signal hypothesis from a
    patchset is selected with --patchset and --patch) or a CMS Combine datacard
    (fitted with Combine's own model; --mass, --poi-map, --poi-range, --mask);
    templates, workspace and run
    read a cabinetry YAML config. Results print as tables and, with -o, are written
    as JSON.
    """
