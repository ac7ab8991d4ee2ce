"""Start-up cost: what `hifit --help`, `import hifit.cli` and a whole `hifit
combine` command on a shape card import. Heavy libraries (uproot imports awkward
and fsspec: ~0.7 s; scipy.stats ~2 s; matplotlib) load only where they are used,
so a command costs little more than Python and numpy. The import graph is checked,
not timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
HEAVY = (
    "uproot",
    "awkward",
    "fsspec",
    "matplotlib",
    "mplhep",
    "scipy",
    "yaml",
    "tqdm",
    "hist",
    "boost_histogram",
    "pandas",
    "tabulate",
    "pyhf",
    "dask",
    "distributed",
    "hifit.executor_dask",
    "hifit.cabinetry.templates",
    "hifit.cabinetry.visualize",
)


def _imported(code: str, cwd: Path | None = None) -> set[str]:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
        cwd=cwd,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_import_hifit_cli_is_light() -> None:
    assert _heavy(_imported("import hifit.cli")) == []


def test_help_is_light() -> None:
    code = "from hifit.cli import main\ntry:\n    main(['--help'])\n"
    code += "except SystemExit:\n    pass"
    assert _heavy(_imported(code)) == []


@pytest.mark.skipif(not DATA.is_dir(), reason="shared Combine data missing")
@pytest.mark.parametrize(
    "card",
    [
        "ci/htt_multiple_regions.txt",
        "tutorials/counting/simple-counting-experiment.txt",
    ],
)
def test_combine_command_is_light(tmp_path: Path, card: str) -> None:
    """Reading the card's TH1 shapes and writing higgsCombine*.root without uproot."""
    code = (
        "from hifit.cli import main\ntry:\n"
        f"    main(['combine', {str(DATA / card)!r}, '-M', 'Significance',"
        " '-m', '125'])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code"
    )
    modules = _imported(code, cwd=tmp_path)
    assert "hifit.combine.methods" in modules
    assert _heavy(modules) == []
    assert (tmp_path / "higgsCombineTest.Significance.mH125.root").is_file()


PYHF_TWO_BIN = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "pyhf"
    / "pyhf-docs-json"
    / "2-bin_1-channel.json"
)


@pytest.mark.skipif(not PYHF_TWO_BIN.is_file(), reason="shared pyhf data missing")
def test_matplotlib_only_with_figures(tmp_path: Path) -> None:
    """`hifit fit` loads no plotting library; `--figures` loads matplotlib (and
    mplhep only for `--label`)."""

    def fit(*extra: str) -> set[str]:
        code = (
            "from hifit.cli import main\ntry:\n"
            f"    main(['fit', {str(PYHF_TWO_BIN)!r}, *{list(extra)!r}])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code"
        )
        return _imported(code, cwd=tmp_path)

    assert _heavy(fit()) == []
    with_figures = fit("--figures", "figs")
    assert "matplotlib" in with_figures and "mplhep" not in with_figures
    assert "mplhep" in fit("--figures", "figs", "--label", "ATLAS Internal")
    assert (tmp_path / "figs" / "pulls.pdf").is_file()


def test_help_loads_no_command_and_no_numpy() -> None:
    """`hifit --help` lists the commands from _group.SHORT_HELP: neither numpy nor
    any command module is imported."""
    code = "from hifit.cli import main\ntry:\n    main(['--help'])\n"
    code += "except SystemExit:\n    pass"
    modules = _imported(code)
    assert "numpy" not in modules
    assert sorted(m for m in modules if m.startswith("hifit.cli._")) == [
        "hifit.cli._group"
    ]


def test_short_help_table_matches_the_commands() -> None:
    """Each SHORT_HELP entry is what click shows for the command itself (full and
    truncated), and `--help` prints the same list as click's own formatter."""
    import click
    from click.utils import make_default_short_help

    from hifit.cli._group import COMMANDS, SHORT_HELP, cli

    ctx = click.Context(cli)
    assert set(SHORT_HELP) == set(COMMANDS)
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        for limit in (30, 45, 80, 1000):
            assert make_default_short_help(SHORT_HELP[name], limit) == (
                cmd.get_short_help_str(limit)
            ), (name, limit)
    # every command is loaded now: the list comes from click's own formatter
    loaded = click.HelpFormatter(width=80)
    click.Group.format_commands(cli, ctx, loaded)
    lazy = click.HelpFormatter(width=80)
    cli.__class__(name="hifit").format_commands(ctx, lazy)
    assert lazy.getvalue() == loaded.getvalue()
