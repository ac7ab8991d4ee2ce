"""Image comparison of hifit.cabinetry.visualize figures against committed PNG
baselines.

The inputs are built by the test itself: cabinetry's example workspace is fitted
with hifit (fit, ranking, scan of Signal_norm, CLs limit, pre-fit prediction), and
pulls, ranking, correlation_matrix, scan, limit and one pre-fit data_mc figure are
rendered with the Agg backend at a fixed small dpi, with matplotlib's bundled
DejaVu Sans font and hinting off, and compared with ``baseline/*.png`` through
``matplotlib.testing.compare.compare_images``.

Set ``HIFIT_REGEN_BASELINES=1`` to rewrite the baselines instead of comparing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.testing.compare import compare_images  # noqa: E402
from visualize_example import (  # noqa: E402
    EXAMPLE_CONFIG,
    EXAMPLE_WORKSPACE,
    Example,
    shared_example,
)  # noqa: E402

from hifit.cabinetry import visualize  # noqa: E402

BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
REGENERATE = os.environ.get("HIFIT_REGEN_BASELINES", "") not in ("", "0")
DPI = 40
# RMS pixel difference allowed (0-255 scale): absorbs tiny numerical differences
# in the fit results, not changed layouts
TOLERANCE = 2.0

# machine-independent text rendering: bundled font, no hinting
RC_PARAMS = {
    "font.family": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "text.hinting": "none",
    "text.hinting_factor": 8,
}

pytestmark = pytest.mark.skipif(
    not (EXAMPLE_WORKSPACE.is_file() and EXAMPLE_CONFIG.is_file()),
    reason="shared cabinetry data missing",
)


@pytest.fixture(scope="module")
def inputs() -> Example:
    return shared_example()


def _data_mc(inputs: Example) -> matplotlib.figure.Figure:
    (entry,) = visualize.data_mc(
        inputs.prefit,
        inputs.data,
        config=inputs.config,
        channels=inputs.model.config.channels[0],
        log_scale=False,
        save_figure=False,
    )
    return entry["figure"]


PLOTS: dict[str, Callable[[Example], matplotlib.figure.Figure]] = {
    "pulls": lambda i: visualize.pulls(
        i.fit_results, close_figure=False, save_figure=False
    ),
    "ranking": lambda i: visualize.ranking(
        i.ranking, close_figure=False, save_figure=False
    ),
    "correlation_matrix": lambda i: visualize.correlation_matrix(
        i.fit_results, close_figure=False, save_figure=False
    ),
    "scan": lambda i: visualize.scan(i.scan, close_figure=False, save_figure=False),
    "limit": lambda i: visualize.limit(i.limit, close_figure=False, save_figure=False),
    "data_mc": _data_mc,
}


@pytest.mark.parametrize("name", list(PLOTS))
def test_matches_baseline(name: str, inputs: Example, tmp_path: Path) -> None:
    actual = tmp_path / f"{name}.png"
    with matplotlib.rc_context(RC_PARAMS):
        fig = PLOTS[name](inputs)
        try:
            fig.savefig(actual, dpi=DPI, metadata={"Software": None})
        finally:
            plt.close(fig)

    expected = BASELINE_DIR / f"{name}.png"
    if REGENERATE:
        BASELINE_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(actual, expected)
        pytest.skip(f"baseline {expected.name} regenerated")
    if not expected.is_file():
        pytest.fail(
            f"baseline {expected} missing; generate it with HIFIT_REGEN_BASELINES=1"
        )
    # compare_images returns None when the images match, else a message
    result = compare_images(str(expected), str(actual), tol=TOLERANCE)
    assert result is None, result


def test_baselines_are_small() -> None:
    if REGENERATE:
        pytest.skip("baselines being regenerated")
    files = sorted(BASELINE_DIR.glob("*.png"))
    assert [f.stem for f in files] == sorted(PLOTS)
    assert all(f.stat().st_size <= 60_000 for f in files)
