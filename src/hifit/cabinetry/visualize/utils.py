"""Shared helpers of the plotting functions: style, saving, Poisson intervals."""

from __future__ import annotations

import contextlib
import contextvars
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


# the experiment label of the figures being drawn (``label=`` of the visualize
# functions); every figure passes through save_and_close, which draws it
_EXPERIMENT_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "experiment_label", default=None
)

# mplhep's experiment-specific label functions, by upper-case experiment name
_EXPERIMENTS = ("ATLAS", "CMS", "LHCb", "ALICE")


@contextlib.contextmanager
def labelled(label: str | None) -> Iterator[None]:
    """Figures drawn inside carry the experiment label ``label`` (None: none)."""
    token = _EXPERIMENT_LABEL.set(label or None)
    try:
        yield
    finally:
        _EXPERIMENT_LABEL.reset(token)


def experiment_label(ax: mpl.axes.Axes, label: str, *, inside: bool = False) -> None:
    """An experiment label through mplhep, above ``ax`` on the left (``inside``: in
    its top left corner).

    The first word names the experiment (bold), the rest follows as the label
    text: ``"ATLAS Internal"``. ATLAS, CMS, LHCb and ALICE get their mplhep
    function (``mplhep.atlas.label`` ...), any other name mplhep's generic
    ``mplhep.label.exp_label``. Nothing is added on the right (no luminosity or
    energy), and nothing is prepended ("Simulation").
    """
    import mplhep  # only when a label is asked for

    experiment, _, text = label.strip().partition(" ")
    known = {name.upper(): name.lower() for name in _EXPERIMENTS}
    module = known.get(experiment.upper())
    draw = getattr(mplhep, module).label if module else mplhep.label.exp_label
    loc = 1 if inside else 0
    draw(exp=experiment, llabel=text.strip(), rlabel="", data=True, loc=loc, ax=ax)


def _has_twin(fig: mpl.figure.Figure) -> bool:
    """The first axes has a twin (the ranking's impact axis on top of the pulls)."""
    first = fig.axes[0]
    return any(ax.bbox.bounds == first.bbox.bounds for ax in fig.axes[1:])


def save_and_close(
    fig: mpl.figure.Figure, path: pathlib.Path | None, close_figure: bool
) -> None:
    """Draw the experiment label if one is set (:func:`labelled`), save ``fig`` to
    ``path`` (creating its folder) unless None, close if asked."""
    label = _EXPERIMENT_LABEL.get()
    if label and fig.axes:
        ax = fig.axes[0]
        twin = _has_twin(fig)
        if twin:  # the twin's ticks fill the space above: label inside, on a free
            # band added at the top (inverted axes included)
            bottom, top = ax.get_ylim()
            ax.set_ylim(bottom, top + 0.1 * (top - bottom))
        experiment_label(ax, label, inside=twin)
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
