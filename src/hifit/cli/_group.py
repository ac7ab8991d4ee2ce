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


# Each command's one-line help, for `hifit --help` without importing the commands
# (numpy, the engine, every command module). tests/python/test_import_graph.py checks
# them against the commands' own docstrings.
SHORT_HELP = {
    "cabinetry": "cabinetry's command line (same commands and options), run by hifit.",
    "cls": "CLs of the hypothesis POI = --mu (asymptotic, or with --toys).",
    "combine": "Run a Combine method on a datacard with Combine's options and outputs.",
    "combine-cards": "Merge Combine datacards into one, as combineCards.py does.",
    "combine-plot": "Figures from Combine's output files, in mplhep's CMS style.",
    "convert": "Convert a Combine datacard to a pyhf workspace or back.",
    "fit": "Maximum-likelihood fit: best-fit values, uncertainties and correlations.",
    "inspect": "Summarize a workspace: channels, samples, parameters (as `pyhf "
    "inspect`).",
    "limit": "Observed and expected CLs upper limits on the POI (asymptotic, qtilde).",
    "pyhf": "pyhf's commands: prefix a pyhf command line with `hifit` to run it here.",
    "ranking": "Impact of every nuisance parameter on the POI (cabinetry's ranking).",
    "report": "Write OUTPUT_DIR/report.html, a self-contained HTML page of what "
    "`hifit run` wrote into OUTPUT_DIR (inputs, fit status, fit, POI, limit, "
    "significance, p-values, yields, ranking, templates, modifier grid, figures).",
    "run": "The whole chain: templates → workspace → fit → ranking, limit and "
    "significance → yield tables, figures → report, written into one folder.",
    "scan": "Profile-likelihood scan of one or two parameters (-2 Δln L).",
    "significance": "Discovery significance (q0), observed and expected (Asimov at "
    "POI = 1).",
    "templates": "Build template histograms (from ntuples, or collect them from "
    "histogram files) and post-process them, as cabinetry's `templates` and "
    "`postprocess`.",
    "workspace": "Build the pyhf workspace of a config from its templates and write "
    "it.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def format_commands(
        self, ctx: click.Context, formatter: click.HelpFormatter
    ) -> None:
        """click's command list, from SHORT_HELP for commands not loaded yet."""
        from click.utils import make_default_short_help

        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name not in self.commands and name in SHORT_HELP:
                rows.append((name, make_default_short_help(SHORT_HELP[name], limit)))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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
