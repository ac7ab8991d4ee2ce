"""hifit.cabinetry.visualize.templates and data_mc_from_histograms on the tutorial
ntuples.

Templates are built and post-processed with hifit from cabinetry's tutorial
ntuple config (inputs from the shared data, histograms in a temporary folder),
then both plotting functions are checked structurally: figures and files under
cabinetry's names, lines and steps drawn, legend entries and axis labels, and the
plotted values against the template histograms. Where cabinetry is installed,
its functions must return the same regions / samples / systematics and write the
same file names on the same config.
"""

from __future__ import annotations

import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402

import hifit  # noqa: E402
from hifit.cabinetry import visualize  # noqa: E402

TUTORIALS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "cabinetry"
).resolve() / "tutorials"
CONFIG = TUTORIALS / "config_ntuples.yml"

pytestmark = pytest.mark.skipif(
    not CONFIG.is_file(), reason="shared cabinetry tutorial data missing"
)

REGION = "Signal_region"
# systematics with template files: Modeling has only an up variation (its down
# variation is symmetrised), Luminosity is normalisation-only (no templates)
EXPECTED_TEMPLATES = {
    ("Signal_region", "Background", "Modeling"): ["nominal", "up"],
    ("Signal_region", "Background", "WeightBasedModeling"): ["nominal", "up", "down"],
}


def _tutorial_config(histogram_folder: Path) -> dict:
    config = hifit.cabinetry.configuration.load(CONFIG)
    config["General"]["InputPath"] = str(TUTORIALS / "inputs" / "{SamplePath}")
    config["General"]["HistogramFolder"] = str(histogram_folder)
    return config


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict:
    config = _tutorial_config(tmp_path_factory.mktemp("histograms"))
    hifit.cabinetry.templates.build(config)
    hifit.cabinetry.templates.postprocess(config)
    return config


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _step_values(line: matplotlib.lines.Line2D) -> np.ndarray:
    """Per-bin values of a step line drawn with repeated edges and values."""
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.array_equal(y[::2], y[1::2])
    return y[::2]


def _legend_texts(ax: matplotlib.axes.Axes) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _anchored_text(ax: matplotlib.axes.Axes) -> str:
    (text,) = [
        artist
        for artist in ax.artists
        if isinstance(artist, matplotlib.offsetbox.AnchoredText)
    ]
    return text.txt._text.get_text()


# --- templates ---------------------------------------------------------------------


def test_templates_figures_and_files(config: dict, tmp_path: Path) -> None:
    figures = visualize.templates(config, figure_folder=tmp_path)
    keys = [(f["region"], f["sample"], f["systematic"]) for f in figures]
    assert keys == list(EXPECTED_TEMPLATES)
    assert all(isinstance(f["figure"], matplotlib.figure.Figure) for f in figures)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pdf"))
    assert files == [
        "templates/Signal_region_Background_Modeling.pdf",
        "templates/Signal_region_Background_WeightBasedModeling.pdf",
    ]
    # default close_figure=False (as cabinetry): figures stay open
    open_numbers = plt.get_fignums()
    assert all(f["figure"].number in open_numbers for f in figures)


def test_templates_layout(config: dict, tmp_path: Path) -> None:
    figures = visualize.templates(config, figure_folder=tmp_path, save_figure=False)
    assert not list(tmp_path.iterdir())
    for entry in figures:
        fig = entry["figure"]
        key = (entry["region"], entry["sample"], entry["systematic"])
        directions = EXPECTED_TEMPLATES[key]
        n_variations = 2 * (len(directions) - 1)  # original and modified
        assert tuple(fig.get_size_inches()) == (8.0, 6.0)
        ax_main, ax_ratio = fig.axes
        # nominal + variations; ratio: unity line + variations
        assert len(ax_main.lines) == 1 + n_variations
        assert len(ax_ratio.lines) == 1 + n_variations
        expected_legend = ["nominal"]
        expected_legend += [f"{d} (original)" for d in directions[1:]]
        expected_legend += [f"{d} (modified)" for d in directions[1:]]
        assert _legend_texts(ax_main) == expected_legend
        styles = {
            "nominal": ("black", "-"),
            "up (original)": ("C0", ":"),
            "down (original)": ("C1", ":"),
            "up (modified)": ("C0", "--"),
            "down (modified)": ("C1", "--"),
        }
        for line, label in zip(ax_main.lines, expected_legend, strict=True):
            color, linestyle = styles[label]
            assert line.get_label() == label
            assert line.get_linestyle() == linestyle
            assert matplotlib.colors.same_color(
                line.get_color(), matplotlib.colors.to_rgba(color)
            )
        # hatched stat. bands of the nominal (top) and its relative band (ratio)
        for ax in (ax_main, ax_ratio):
            bands = [c for c in ax.containers if isinstance(c, BarContainer)]
            assert len(bands) == 1
            assert bands[0].patches[0].get_hatch() == "///"
        for ax in (ax_main, ax_ratio):
            errorbars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
            assert len(errorbars) == n_variations
        assert _anchored_text(ax_main) == (
            f"region: {key[0]}\nsample: {key[1]}\nsystematic: {key[2]}"
        )
        assert ax_main.get_ylabel() == "events"
        assert ax_ratio.get_xlabel() == "jet_pt"
        assert ax_ratio.get_ylabel() == "variation / nominal"
        assert ax_ratio.get_ylim() == (0.5, 1.5)
        assert ax_main.get_xlim() == (200.0, 600.0)


def test_templates_values(config: dict) -> None:
    figures = visualize.templates(config, save_figure=False)
    for entry in figures:
        region, sample, systematic = (
            entry["region"],
            entry["sample"],
            entry["systematic"],
        )
        ax_main, ax_ratio = entry["figure"].axes
        by_label = {line.get_label(): line for line in ax_main.lines}
        nominal = hifit.cabinetry.templates.load_template(config, region, sample)
        np.testing.assert_allclose(_step_values(by_label["nominal"]), nominal.yields)
        np.testing.assert_allclose(
            by_label["nominal"].get_xdata(), np.repeat(nominal.bins, 2)[1:-1]
        )
        for direction in EXPECTED_TEMPLATES[(region, sample, systematic)][1:]:
            for kind, modified in (("original", False), ("modified", True)):
                expected = hifit.cabinetry.templates.load_template(
                    config,
                    region,
                    sample,
                    systematic,
                    direction.capitalize(),
                    modified=modified,
                )
                line = by_label[f"{direction} ({kind})"]
                np.testing.assert_allclose(_step_values(line), expected.yields)
        # ratio lines (after the unity line) are variation / nominal
        variations = [line for line in ax_main.lines if line.get_label() != "nominal"]
        for top, ratio in zip(variations, ax_ratio.lines[1:], strict=True):
            np.testing.assert_allclose(
                _step_values(ratio), _step_values(top) / nominal.yields
            )


def test_templates_smoothing_changes_modified(tmp_path: Path) -> None:
    """With smoothing, the modified variation differs from the original one."""
    config = _tutorial_config(tmp_path / "histograms")
    for systematic in config["Systematics"]:
        if systematic["Name"] == "WeightBasedModeling":
            systematic["Smoothing"] = {"Algorithm": "353QH, twice"}
    hifit.cabinetry.templates.build(config)
    hifit.cabinetry.templates.postprocess(config)
    (entry,) = [
        f
        for f in visualize.templates(config, save_figure=False)
        if f["systematic"] == "WeightBasedModeling"
    ]
    by_label = {line.get_label(): line for line in entry["figure"].axes[0].lines}
    original = _step_values(by_label["up (original)"])
    modified = _step_values(by_label["up (modified)"])
    assert not np.allclose(original, modified)
    # smoothing keeps the variation's integral
    assert np.isclose(original.sum(), modified.sum())


def test_templates_close_figure(config: dict, tmp_path: Path) -> None:
    figures = visualize.templates(
        config, figure_folder=tmp_path, close_figure=True, save_figure=False
    )
    assert len(figures) == len(EXPECTED_TEMPLATES)
    open_numbers = plt.get_fignums()
    assert not any(f["figure"].number in open_numbers for f in figures)


def test_templates_without_systematics(config: dict, tmp_path: Path) -> None:
    no_systematics = copy.deepcopy(config)
    no_systematics.pop("Systematics")
    assert visualize.templates(no_systematics, figure_folder=tmp_path) == []
    assert not tmp_path.exists() or not list(tmp_path.rglob("*.pdf"))


# --- data_mc_from_histograms ---------------------------------------------------------


def test_data_mc_from_histograms(config: dict, tmp_path: Path) -> None:
    figures = visualize.data_mc_from_histograms(config, figure_folder=tmp_path)
    assert [f["region"] for f in figures] == [REGION]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{REGION}_prefit.pdf"]
    fig = figures[0]["figure"]
    assert tuple(fig.get_size_inches()) == (6.0, 6.0)
    ax_main, ax_ratio = fig.axes
    # two stacked samples and the hatched uncertainty band
    bars = [c for c in ax_main.containers if isinstance(c, BarContainer)]
    assert len(bars) == 3
    assert bars[-1].patches[0].get_hatch() == "///"
    # one black outline per stacked sample, plus the data points
    outlines = [line for line in ax_main.lines if line.get_linewidth() == 0.5]
    assert len(outlines) == 2
    assert len(ax_main.lines) == 3
    # first config sample on top of the stack, listed first in the legend
    assert _legend_texts(ax_main) == ["Signal", "Background", "Uncertainty", "Data"]
    assert _anchored_text(ax_main) == f"{REGION}\npre-fit"
    assert ax_main.get_ylabel() == "events"
    assert ax_ratio.get_xlabel() == "jet_pt"
    assert ax_ratio.get_ylabel() == "data / model"

    # values: stack from the (modified) templates, stat.-only band, data points
    def load(sample: str) -> hifit.cabinetry.templates.template_files.Template:
        return hifit.cabinetry.templates.load_template(config, REGION, sample)

    background, signal, data = load("Background"), load("Signal"), load("Data")
    bottom_bars, top_bars, band = bars
    np.testing.assert_allclose(
        [p.get_height() for p in bottom_bars.patches], background.yields
    )
    np.testing.assert_allclose(
        [p.get_height() for p in top_bars.patches], signal.yields
    )
    np.testing.assert_allclose([p.get_y() for p in top_bars.patches], background.yields)
    total = background.yields + signal.yields
    stat = np.sqrt(background.stdev**2 + signal.stdev**2)
    np.testing.assert_allclose([p.get_height() for p in band.patches], 2 * stat)
    np.testing.assert_allclose([p.get_y() for p in band.patches], total - stat)
    (data_points,) = [c for c in ax_main.containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(data_points.lines[0].get_ydata(), data.yields)
    np.testing.assert_allclose(
        data_points.lines[0].get_xdata(), 0.5 * (data.bins[1:] + data.bins[:-1])
    )
    assert ax_main.get_xlim() == (200.0, 600.0)


def test_data_mc_from_histograms_options(config: dict, tmp_path: Path) -> None:
    figures = visualize.data_mc_from_histograms(
        config, figure_folder=tmp_path, log_scale=True, close_figure=True
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{REGION}_prefit_log.pdf"]
    assert figures[0]["figure"].axes[0].get_yscale() == "log"
    assert figures[0]["figure"].number not in plt.get_fignums()

    assert (
        visualize.data_mc_from_histograms(
            config, channels="other region", save_figure=False
        )
        == []
    )
    colors = {"Signal": "#ff0000", "Background": "#0000ff"}
    (entry,) = visualize.data_mc_from_histograms(
        config, channels=[REGION], colors=colors, save_figure=False
    )
    bars = [
        c for c in entry["figure"].axes[0].containers if isinstance(c, BarContainer)
    ]
    assert matplotlib.colors.same_color(bars[0].patches[0].get_facecolor(), "#0000ff")
    assert matplotlib.colors.same_color(bars[1].patches[0].get_facecolor(), "#ff0000")
    with pytest.raises(ValueError, match="missing for {'Background'}"):
        visualize.data_mc_from_histograms(
            config, colors={"Signal": "red"}, save_figure=False
        )


# --- cabinetry reference -------------------------------------------------------------


def test_same_outputs_as_cabinetry(config: dict, tmp_path: Path) -> None:
    cabinetry = pytest.importorskip("cabinetry")
    import inspect

    for name in ("templates", "data_mc_from_histograms"):
        ours = dict(inspect.signature(getattr(visualize, name)).parameters)
        theirs = inspect.signature(getattr(cabinetry.visualize, name))
        # hifit's one addition: the experiment label, last and off by default
        assert ours.pop("label").default is None
        assert list(ours) == list(theirs.parameters)
        assert [p.default for p in ours.values()] == [
            p.default for p in theirs.parameters.values()
        ]

    cab_config = _tutorial_config(tmp_path / "cabinetry_histograms")
    cabinetry.templates.build(cab_config)
    cabinetry.templates.postprocess(cab_config)
    theirs = cabinetry.visualize.templates(
        cab_config, figure_folder=tmp_path / "theirs", close_figure=True
    )
    theirs += cabinetry.visualize.data_mc_from_histograms(
        cab_config, figure_folder=tmp_path / "theirs", close_figure=True
    )
    ours = visualize.templates(
        config, figure_folder=tmp_path / "ours", close_figure=True
    )
    ours += visualize.data_mc_from_histograms(
        config, figure_folder=tmp_path / "ours", close_figure=True
    )

    def keys(figures: list[dict]) -> list[dict]:
        return [{k: v for k, v in f.items() if k != "figure"} for f in figures]

    assert keys(ours) == keys(theirs)

    def files(folder: Path) -> list[str]:
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.pdf"))

    assert files(tmp_path / "ours") == files(tmp_path / "theirs")
