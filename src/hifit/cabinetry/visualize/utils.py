"""Shared helpers of the plotting functions: style, saving, Poisson intervals."""

from __future__ import annotations

import contextlib
import logging
import math
import pathlib
from collections.abc import Iterator

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from ...io import save_figure

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

# cabinetry's colour cycle (matplotlib's petroff10), with a fallback for old
# matplotlib versions
_STYLE = (
    "petroff10" if "petroff10" in mpl.style.available else "seaborn-v0_8-colorblind"
)

# one Gaussian standard deviation: coverage of Garwood intervals
_ONE_SIGMA = math.erf(1 / math.sqrt(2))


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Draw inside cabinetry's style without changing the global rcParams."""
    with mpl.style.context(_STYLE):
        yield


def save_and_close(
    fig: mpl.figure.Figure, path: pathlib.Path | None, close_figure: bool
) -> None:
    """Save ``fig`` to ``path`` (creating its folder) unless None; close if asked."""
    if path is not None:
        log.info("saving figure as %s", path)
        save_figure(fig, path)
    if close_figure:
        plt.close(fig)


def log_figure_path(path: pathlib.Path | None) -> pathlib.Path | None:
    """``name.pdf`` → ``name_log.pdf`` (None stays None)."""
    if path is None:
        return None
    return path.with_name(f"{path.stem}_log{path.suffix}")


def _lower_gamma_regularized(a: float, x: float) -> float:
    """P(a, x), the regularised lower incomplete gamma function (a > 0, x >= 0)."""
    if x <= 0.0:
        return 0.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        # series expansion
        term = total = 1.0 / a
        n = 0
        while abs(term) > abs(total) * 1e-15 and n < 10000:
            n += 1
            term *= x / (a + n)
            total += term
        return min(1.0, total * math.exp(log_prefactor))
    # continued fraction for Q(a, x) (modified Lentz)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return max(0.0, 1.0 - math.exp(log_prefactor) * h)


def _gamma_quantile(a: float, p: float) -> float:
    """x with P(a, x) = p, by bisection."""
    low, high = 0.0, a + 20.0 * math.sqrt(a) + 20.0
    while _lower_gamma_regularized(a, high) < p:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if _lower_gamma_regularized(a, mid) < p:
            low = mid
        else:
            high = mid
        if high - low <= 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


def poisson_interval(
    values: np.ndarray, coverage: float = _ONE_SIGMA
) -> tuple[np.ndarray, np.ndarray]:
    """Garwood (frequentist) Poisson interval [lower, upper] around ``values``.

    The same interval as ``hist.intervals.poisson_interval`` without variances:
    ``lower = chi2.ppf(α/2, 2n) / 2`` (0 for n = 0) and
    ``upper = chi2.ppf(1 - α/2, 2n + 2) / 2`` with α = 1 - coverage.
    """
    values = np.asarray(values, dtype=float)
    alpha = 1.0 - coverage
    lower = np.array(
        [_gamma_quantile(n, alpha / 2) if n > 0 else 0.0 for n in values.ravel()]
    ).reshape(values.shape)
    upper = np.array(
        [_gamma_quantile(max(n, 0.0) + 1.0, 1.0 - alpha / 2) for n in values.ravel()]
    ).reshape(values.shape)
    return lower, upper
