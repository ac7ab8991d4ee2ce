"""hifit.cabinetry.visualize: cabinetry's plotting functions on hifit models and fit
results.

A model is built and fitted with hifit (cabinetry's example workspace), every
plotting function is called, and the figures are checked structurally: panels,
bars and bands, axis labels, tick labels against parameter names, and the PDF
files written under cabinetry's names. Where cabinetry is installed, its
visualize module is run on the same results and must write the same files and
label the same parameters.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402
from visualize_example import EXAMPLE_WORKSPACE, Example, shared_example  # noqa: E402

from hifit.cabinetry import visualize  # noqa: E402
from hifit.cabinetry.visualize import utils as vis_utils  # noqa: E402

pytestmark = pytest.mark.skipif(
    not EXAMPLE_WORKSPACE.is_file(), reason="shared cabinetry data missing"
)


@pytest.fixture(scope="module")
def example() -> Example:
    return shared_example()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _tick_texts(labels) -> list[str]:
    return [label.get_text() for label in labels]


def _bar_containers(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _hatched(container: BarContainer) -> bool:
    return all(patch.get_hatch() and not patch.get_fill() for patch in container)


# --- data_mc -------------------------------------------------------------------


@pytest.mark.parametrize("which", ["prefit", "postfit"])
def test_data_mc_with_config(example, tmp_path, which):
    prediction = getattr(example, which)
    result = visualize.data_mc(
        prediction, example.data, config=example.config, figure_folder=tmp_path
    )
    assert [entry["region"] for entry in result] == ["Signal_region"]
    assert (tmp_path / f"Signal_region_{which}.pdf").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"Signal_region_{which}.pdf"]

    fig = result[0]["figure"]
    ax_main, ax_ratio = fig.axes  # the ratio panel is the second axes
    n_bins = 4
    samples = example.model.config.samples

    bars = _bar_containers(ax_main)
    stacked = [c for c in bars if not _hatched(c)]
    bands = [c for c in bars if _hatched(c)]
    assert len(stacked) == len(samples)
    assert all(len(c) == n_bins for c in stacked)
    assert len(bands) == 1 and len(bands[0]) == n_bins  # uncertainty band
    # stack: sample yields in model order, each on top of the previous ones
    bottom = np.zeros(n_bins)
    for i_sam, container in enumerate(stacked):
        heights = np.array([p.get_height() for p in container])
        np.testing.assert_allclose(heights, prediction.model_yields[0][i_sam])
        np.testing.assert_allclose([p.get_y() for p in container], bottom)
        bottom += heights
    # band: total ± total uncertainty
    total_unc = np.asarray(prediction.total_stdev_model_bins[0][-1])
    np.testing.assert_allclose(
        [p.get_height() for p in bands[0]], 2 * total_unc, rtol=1e-12
    )
    # x edges from the config Binning
    np.testing.assert_allclose([p.get_x() for p in stacked[0]], [200, 300, 400, 500])
    assert ax_main.get_xlim() == (200.0, 600.0)

    # data points with Garwood intervals
    errorbars = [c for c in ax_main.containers if isinstance(c, ErrorbarContainer)]
    assert len(errorbars) == 1
    np.testing.assert_allclose(errorbars[0].lines[0].get_ydata(), example.data[:4])

    assert ax_main.get_ylabel() == "events"
    assert ax_ratio.get_ylabel() == "data / model"
    assert ax_ratio.get_xlabel() == "jet_pt"
    assert ax_ratio.get_ylim() == (0.5, 1.5)
    assert len([c for c in _bar_containers(ax_ratio) if _hatched(c)]) == 1
    ratio_points = [c for c in ax_ratio.containers if isinstance(c, ErrorbarContainer)]
    assert len(ratio_points) == 1
    np.testing.assert_allclose(
        ratio_points[0].lines[0].get_ydata(), np.asarray(example.data[:4]) / bottom
    )

    legend = _tick_texts(ax_main.get_legend().get_texts())
    assert legend == samples[::-1] + ["Uncertainty", "Data"]
    label = prediction.label
    assert any(
        f"Signal_region\n{label}" == child.txt._text.get_text()
        for child in ax_main.artists
    )


def test_data_mc_defaults_log_scale_and_filtering(example, tmp_path):
    result = visualize.data_mc(
        example.prefit, example.data, figure_folder=tmp_path, log_scale=True
    )
    fig = result[0]["figure"]
    ax_main, ax_ratio = fig.axes
    assert ax_main.get_yscale() == "log"
    assert ax_ratio.get_xlabel() == "bin"
    assert ax_main.get_xlim() == (0.0, 4.0)
    assert [p.name for p in tmp_path.iterdir()] == ["Signal_region_prefit_log.pdf"]

    # data without auxdata, a custom label, no saving
    custom = example.prefit._replace(label="my fit")
    result = visualize.data_mc(
        custom,
        example.data[: example.model.config.nmaindata],
        figure_folder=tmp_path / "custom",
        channels="Signal_region",
        save_figure=False,
    )
    assert len(result) == 1
    assert not (tmp_path / "custom").exists()
    custom_dir = tmp_path / "named"
    visualize.data_mc(custom, example.data, figure_folder=custom_dir)
    assert [p.name for p in custom_dir.iterdir()] == ["Signal_region_my fit.pdf"]

    assert visualize.data_mc(example.prefit, example.data, channels="nope") is None

    with pytest.raises(ValueError, match="colors need to be provided"):
        visualize.data_mc(example.prefit, example.data, colors={"Signal": "red"})
    colors = {"Signal": "#ff0000", "Background": "#0000ff"}
    fig = visualize.data_mc(
        example.prefit, example.data, colors=colors, save_figure=False
    )[0]["figure"]
    stacked = [c for c in _bar_containers(fig.axes[0]) if not _hatched(c)]
    faces = [matplotlib.colors.to_hex(c[0].get_facecolor()) for c in stacked]
    assert faces == [colors[sample] for sample in example.model.config.samples]


def test_data_mc_close_figure(example):
    n_before = len(plt.get_fignums())
    visualize.data_mc(
        example.prefit, example.data, close_figure=True, save_figure=False
    )
    assert len(plt.get_fignums()) == n_before
    visualize.data_mc(example.prefit, example.data, save_figure=False)
    assert len(plt.get_fignums()) == n_before + 1  # cabinetry keeps it open


def test_plot_model_data_mc_low_level(tmp_path):
    histograms = [
        {"label": "Background", "isData": False, "yields": [12.5, 14], "variable": "x"},
        {"label": "Signal", "isData": False, "yields": [2, 5], "variable": "x"},
        {"label": "Data", "isData": True, "yields": [13, 15], "variable": "x"},
    ]
    fig = visualize.plot_model.data_mc(
        histograms,
        np.sqrt([0.17, 0.29]),
        np.array([1.0, 2.0, 3.0]),
        figure_path=tmp_path / "data_mc.pdf",
        label="Signal region\npre-fit",
    )
    assert (tmp_path / "data_mc.pdf").is_file()
    ax_main, _ = fig.axes
    assert ax_main.get_yscale() == "linear"
    assert ax_main.get_ylim() == pytest.approx((0, 1.5 * 19))
    # Garwood interval of 13 observed events
    (data_points,) = [c for c in ax_main.containers if isinstance(c, ErrorbarContainer)]
    segments = data_points.lines[2][0].get_segments()
    assert segments[0][:, 1] == pytest.approx([9.441, 17.698], abs=1e-3)

    histograms[0]["yields"] = [-20, 14]
    with pytest.raises(ValueError, match="negative"):
        visualize.plot_model.data_mc(histograms, np.ones(2), np.array([1, 2, 3.0]))


def test_poisson_interval_garwood():
    lower, upper = vis_utils.poisson_interval(np.array([0.0, 1.0, 13.0, 1000.0]))
    # chi2.ppf(0.1587, 2n) / 2 and chi2.ppf(0.8413, 2n + 2) / 2
    np.testing.assert_allclose(lower, [0.0, 0.172754, 9.441338, 968.3825], rtol=1e-5)
    np.testing.assert_allclose(
        upper, [1.841022, 3.299527, 17.69757, 1032.633], rtol=1e-5
    )


# --- results -------------------------------------------------------------------


def test_pulls(example, tmp_path):
    fig = visualize.pulls(example.fit_results, figure_folder=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["pulls.pdf"]
    assert plt.fignum_exists(fig.number) is False  # closed by default
    (ax,) = fig.axes
    labels = example.fit_results.labels
    shown = [
        name
        for name, unc in zip(labels, example.fit_results.uncertainty, strict=True)
        if unc > 0 and not name.startswith("staterror_")
    ]
    assert _tick_texts(ax.get_yticklabels()) == shown
    assert "Signal_norm" in shown
    assert ax.get_xlim() == (-3.0, 3.0)
    assert "theta" in ax.get_xlabel()
    # ±1σ and ±2σ bands
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    widths = sorted(np.ptp(b.get_paths()[0].vertices[:, 0]) for b in bands)
    assert widths == [2.0, 4.0]
    (points,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    x_points = points.lines[0].get_xdata()
    index = [labels.index(name) for name in shown]
    np.testing.assert_allclose(x_points, example.fit_results.bestfit[index])

    fig = visualize.pulls(example.fit_results, exclude="Signal_norm", save_figure=False)
    assert _tick_texts(fig.axes[0].get_yticklabels()) == [
        name for name in shown if name != "Signal_norm"
    ]
    fig = visualize.pulls(
        example.fit_results, exclude=["Signal_norm", "Luminosity"], save_figure=False
    )
    assert len(fig.axes[0].get_yticklabels()) == len(shown) - 2


def test_pulls_excludes_fixed_parameters(example):
    fit_results = example.fit_results
    uncertainty = fit_results.uncertainty.copy()
    uncertainty[fit_results.labels.index("Luminosity")] = 0.0
    fig = visualize.pulls(
        fit_results._replace(uncertainty=uncertainty), save_figure=False
    )
    assert "Luminosity" not in _tick_texts(fig.axes[0].get_yticklabels())


def test_correlation_matrix(example, tmp_path):
    fig = visualize.correlation_matrix(example.fit_results, figure_folder=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["correlation_matrix.pdf"]
    ax, colorbar_ax = fig.axes
    labels = example.fit_results.labels
    assert _tick_texts(ax.get_yticklabels()) == labels
    assert _tick_texts(ax.get_xticklabels()) == labels
    (image,) = ax.get_images()
    np.testing.assert_allclose(image.get_array(), example.fit_results.corr_mat)
    assert image.get_clim() == (-1, 1)
    assert colorbar_ax.get_ylim() == (-1.0, 1.0)
    n_texts = int(np.sum(np.abs(example.fit_results.corr_mat) > 0.005))
    assert len(ax.texts) == n_texts

    # pruning: keep parameters with some |correlation| >= 0.3
    fig = visualize.correlation_matrix(
        example.fit_results, pruning_threshold=0.3, save_figure=False
    )
    corr = np.abs(example.fit_results.corr_mat.copy())
    np.fill_diagonal(corr, 0)
    kept = [name for name, row in zip(labels, corr, strict=True) if row.max() >= 0.3]
    assert 0 < len(kept) < len(labels)
    assert _tick_texts(fig.axes[0].get_yticklabels()) == kept

    # fixed parameters (all-zero rows) are dropped
    corr = example.fit_results.corr_mat.copy()
    corr[0, :] = corr[:, 0] = 0.0
    fig = visualize.correlation_matrix(
        example.fit_results._replace(corr_mat=corr), save_figure=False
    )
    assert _tick_texts(fig.axes[0].get_yticklabels()) == labels[1:]


def test_ranking(example, tmp_path):
    results = example.ranking
    fig = visualize.ranking(results, figure_folder=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["ranking.pdf"]
    ax_pulls, ax_impact = fig.axes
    impact = np.maximum(np.abs(results.postfit_up), np.abs(results.postfit_down))
    expected = [results.labels[i] for i in np.argsort(impact)[::-1]]
    assert _tick_texts(ax_pulls.get_yticklabels()) == expected
    assert "Signal_norm" not in expected
    assert ax_pulls.get_xlim() == (-2.0, 2.0)
    assert ax_impact.get_xlabel() == r"$\Delta \mu$"
    assert "theta" in ax_pulls.get_xlabel()
    # four sets of impact bars (pre-/post-fit, up/down), one bar per parameter
    bars = _bar_containers(ax_impact)
    assert len(bars) == 4 and all(len(c) == len(expected) for c in bars)
    assert sum(1 for c in bars if not c[0].get_fill()) == 2  # hollow pre-fit bars
    np.testing.assert_allclose(
        [p.get_width() for p in bars[2]],
        np.asarray(results.postfit_up)[np.argsort(impact)[::-1]],
    )
    prefit = np.abs(np.concatenate([results.prefit_up, results.prefit_down]))
    largest = max(prefit.max(), impact.max())
    assert ax_impact.get_xlim() == pytest.approx((-1.1 * largest, 1.1 * largest))
    assert len(fig.legends[0].get_texts()) == 5

    fig = visualize.ranking(results, max_pars=2, save_figure=False)
    assert _tick_texts(fig.axes[0].get_yticklabels()) == expected[:2]


def test_scan(example, tmp_path):
    fig = visualize.scan(example.scan, figure_folder=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["scan_Signal_norm.pdf"]
    (ax,) = fig.axes
    assert ax.get_xlabel() == "Signal_norm"
    assert ax.get_ylabel() == r"$-2 \Delta \log(L)$"
    legend = _tick_texts(ax.get_legend().get_texts())
    assert legend == ["Gaussian approximation", "parameter scan"]
    markers = [line for line in ax.lines if line.get_marker() == "X"]
    np.testing.assert_allclose(markers[0].get_xdata(), example.scan.parameter_values)
    np.testing.assert_allclose(markers[0].get_ydata(), example.scan.delta_nlls)
    assert ax.get_ylim() == pytest.approx((0, 1.2 * max(example.scan.delta_nlls)))

    # staterror names: [ → _, ] dropped
    renamed = example.scan._replace(name="staterror_Signal_region[2]")
    visualize.scan(renamed, figure_folder=tmp_path)
    assert (tmp_path / "scan_staterror_Signal_region_2.pdf").is_file()


def test_limit(example, tmp_path):
    results = example.limit
    fig = visualize.limit(results, figure_folder=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["limit.pdf"]
    (ax,) = fig.axes
    assert ax.get_xlabel() == r"$\mu$"
    assert ax.get_ylabel() == r"CL$_{s}$"
    assert ax.get_ylim() == (0.0, 1.0)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # ±1σ and ±2σ
    observed = ax.lines[0]
    np.testing.assert_allclose(observed.get_xdata(), results.poi_values)
    np.testing.assert_allclose(observed.get_ydata(), results.observed_CLs)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), results.expected_CLs[:, 2])
    target = [line for line in ax.lines if line.get_color() == "red"]
    assert target[0].get_ydata()[0] == pytest.approx(1 - results.confidence_level)
    assert "CL$_S$ = 5%" in _tick_texts(ax.get_legend().get_texts())


def test_modifier_grid(example, tmp_path):
    fig = visualize.modifier_grid(example.model, figure_folder=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["modifier_grid.pdf"]
    ax = fig.axes[0]
    assert _tick_texts(ax.get_yticklabels()) == example.model.config.samples
    assert _tick_texts(ax.get_xticklabels()) == example.model.config.par_order
    fig = visualize.modifier_grid(
        example.model, split_by_sample=True, save_figure=False
    )
    assert len(fig.axes) == len(example.model.config.samples) + 1  # + colorbar


def test_close_and_save_flags(example, tmp_path):
    n_before = len(plt.get_fignums())
    figures = [
        visualize.pulls(example.fit_results, figure_folder=tmp_path, save_figure=False),
        visualize.correlation_matrix(
            example.fit_results, figure_folder=tmp_path, save_figure=False
        ),
        visualize.ranking(example.ranking, figure_folder=tmp_path, save_figure=False),
        visualize.scan(example.scan, figure_folder=tmp_path, save_figure=False),
        visualize.limit(example.limit, figure_folder=tmp_path, save_figure=False),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figures)
    assert list(tmp_path.iterdir()) == []
    assert len(plt.get_fignums()) == n_before
    visualize.limit(example.limit, close_figure=False, save_figure=False)
    assert len(plt.get_fignums()) == n_before + 1


def test_style_does_not_leak(example):
    before = dict(matplotlib.rcParams)
    visualize.data_mc(example.prefit, example.data, save_figure=False)
    visualize.ranking(example.ranking, save_figure=False)
    assert dict(matplotlib.rcParams) == before


# --- same files and labels as cabinetry -----------------------------------------


def test_same_outputs_as_cabinetry(example, tmp_path):
    cabinetry = pytest.importorskip("cabinetry")
    figures = {}
    with matplotlib.rc_context():  # cabinetry sets its style globally
        for name, module in (("cabinetry", cabinetry.visualize), ("hifit", visualize)):
            folder = tmp_path / name
            figures[name] = (
                module.pulls(example.fit_results, figure_folder=folder),
                module.correlation_matrix(
                    example.fit_results, figure_folder=folder, pruning_threshold=0.2
                ),
                module.ranking(example.ranking, figure_folder=folder, max_pars=3),
            )
            module.scan(example.scan, figure_folder=folder)
            module.limit(example.limit, figure_folder=folder)
    assert sorted(p.name for p in (tmp_path / "hifit").iterdir()) == sorted(
        p.name for p in (tmp_path / "cabinetry").iterdir()
    )
    for cab_fig, hifit_fig in zip(*figures.values(), strict=True):
        assert _tick_texts(hifit_fig.axes[0].get_yticklabels()) == _tick_texts(
            cab_fig.axes[0].get_yticklabels()
        )

    # data_mc file names (cabinetry's data_mc itself needs pyhf's
    # ModelConfig.channel_slices)
    for label in ("pre-fit", "post-fit", "my fit"):
        folder = tmp_path / label
        prediction = example.prefit._replace(label=label)
        visualize.data_mc(prediction, example.data, figure_folder=folder)
        expected = cabinetry.visualize._figure_name("Signal_region", label)
        assert [p.name for p in folder.iterdir()] == [expected]


# --- experiment label (hifit's addition) --------------------------------------


def _label_texts(fig) -> list[str]:
    import mplhep.label

    return [
        t.get_text()
        for ax in fig.axes
        for t in ax.texts
        if isinstance(t, mplhep.label.ExpLabel | mplhep.label.ExpText)
    ]


def test_experiment_label_on_every_function(example, tmp_path):
    """label= draws "<experiment>" (bold) and the rest through mplhep on every
    figure; without it, no mplhep label (cabinetry's figures unchanged)."""
    options = {"save_figure": False, "close_figure": False}
    draws = {
        "pulls": lambda **kw: visualize.pulls(example.fit_results, **kw),
        "correlation_matrix": lambda **kw: visualize.correlation_matrix(
            example.fit_results, **kw
        ),
        "ranking": lambda **kw: visualize.ranking(example.ranking, **kw),
        "scan": lambda **kw: visualize.scan(example.scan, **kw),
        "limit": lambda **kw: visualize.limit(example.limit, **kw),
        "modifier_grid": lambda **kw: visualize.modifier_grid(example.model, **kw),
        "data_mc": lambda **kw: visualize.data_mc(
            example.postfit, example.data, config=example.config, **kw
        )[0]["figure"],
    }
    for name, draw in draws.items():
        assert _label_texts(draw(**options)) == [], name
        texts = _label_texts(draw(label="ATLAS Internal", **options))
        assert texts == ["ATLAS", "Internal"], name
    # any experiment name: mplhep's generic label
    fig = visualize.pulls(example.fit_results, label="FCC-ee Simulation", **options)
    assert _label_texts(fig) == ["FCC-ee", "Simulation"]
    # the label is drawn before saving: it is in the written file's figure
    fig = visualize.limit(example.limit, figure_folder=tmp_path, label="CMS")
    assert _label_texts(fig)[0] == "CMS"
    assert (tmp_path / "limit.pdf").read_bytes()[:5] == b"%PDF-"
