"""Combine's own CI reference results, reproduced by fitting the same cards with hifit.

Expected numbers are read from Combine's reference outputs
(../shared/data/combine/references/*.out, Combine v10.6.0), not typed in here.
Tolerance 0.005 on r and its errors: Combine's Minuit stops at EDM ~1e-4 and prints 3
decimals (combine.md §7.1). Limits and significances of every public card are compared
with the real Combine in test_combine_real_runs.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hifit.datacard import load_model
from hifit.infer import fit
from hifit.infer.scans import minos

COMBINE = Path("../shared/data/combine")
LINE = re.compile(
    r"^\s*(\w+)\s*:\s*([+-]\d+\.\d+)(?:\s+(-\d+\.\d+)/\+(\d+\.\d+)\s+\(68%\))?\s*$"
)
TOL = 0.005


def reference(name: str) -> dict[str, tuple[float, ...]]:
    """POI -> (best fit[, -error, +error]) from a MultiDimFit reference output."""
    out = {}
    for line in (COMBINE / "references" / name).read_text().splitlines():
        m = LINE.match(line)
        if m:
            out[m[1]] = tuple(float(x) for x in m.groups()[1:] if x is not None)
    assert out, f"no POI lines in {name}"
    return out


def fit_pois(card: str, mass: float, pois: list[str], **options) -> dict:
    built = load_model(str(COMBINE / card), mass=mass, **options)
    model, data = built.model, built.data
    result = fit(data, model)
    assert result.valid, result.status
    names = model.config.par_names
    out = {}
    for poi in pois:
        interval = minos(data, model, poi, fit_result=result)[poi]
        assert interval.valid, interval.message
        best = result.bestfit[names.index(poi)]
        out[poi] = (best, interval.lower, interval.upper)  # signed errors
    return out


CASES = [
    # reference file, card, mass, options (Combine's command line, see combine.md §7)
    ("cmshistfunc.out", "ci/template-analysis_shapeInterp.txt", 200, {}),
    ("cmshistsum.out", "ci/template-analysis_shapeInterp.txt", 200, {}),
    ("cmshistfunc_shapeN.out", "ci/template-analysis_shapeNInterp.txt", 200, {}),
    ("cmshistsum_shapeN.out", "ci/template-analysis_shapeNInterp.txt", 200, {}),
    (
        "cmshistfunc_channel_masks.out",
        "ci/htt_multiple_regions.txt",
        125,
        {"masked_channels": ["htt_tt_2_8TeV"]},
    ),
    (
        "cmshistsum_channel_masks.out",
        "ci/htt_multiple_regions.txt",
        125,
        {"masked_channels": ["htt_tt_2_8TeV"]},
    ),
    (
        "multi-signal.out",
        "tutorials/CAT23001/datacard-5-multi-signal.txt",
        125,
        {"poi_map": {"ggH*": "r_ggH", "qqH*": "r_qqH"}},
    ),
]


@pytest.mark.parametrize(("ref", "card", "mass", "options"), CASES)
def test_multidimfit_singles(ref, card, mass, options):
    expected = reference(ref)
    if "poi_map" not in options:
        options = {**options, "poi_range": (-5.0, 5.0)}  # --setParameterRanges r=-5,5
    got = fit_pois(card, mass, list(expected), **options)
    for poi, values in expected.items():
        np.testing.assert_allclose(got[poi], values, atol=TOL, err_msg=poi)


def test_counting_card_best_fit():
    expected = reference("counting_datacard.out")
    built = load_model(
        str(COMBINE / "tutorials/multiDim/toy-hgg-125.txt"),
        mass=125,
        poi_map={"ggH": "r_ggH", "qqH": "r_qqH"},
        poi_range=(-5.0, 5.0),
    )
    result = fit(built.data, built.model)
    names = built.model.config.par_names
    for poi, (best,) in expected.items():
        assert result.bestfit[names.index(poi)] == pytest.approx(best, abs=TOL)


def test_channel_compatibility_nominal_fit():
    text = (
        COMBINE / "references/multi-signal-ChannelCompatibilityCheck.out"
    ).read_text()
    m = re.search(r"Nominal fit\s*:\s*r =\s*(\S+)\s+(-\S+)/\+(\S+)", text)
    expected = tuple(float(x) for x in m.groups())
    got = fit_pois("tutorials/CAT23001/datacard-5-multi-signal.txt", 125, ["r"])
    np.testing.assert_allclose(got["r"], expected, atol=TOL)
