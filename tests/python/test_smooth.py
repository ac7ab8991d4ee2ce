"""hifit.cabinetry.smooth against cabinetry.smooth (the reference, 0.6.0): the same
public functions, signatures, return types and values (arrays, lists, integer arrays,
inputs too short to smooth)."""

from __future__ import annotations

import inspect
import logging

import numpy as np
import pytest

from hifit.cabinetry import smooth

cabinetry = pytest.importorskip("cabinetry")

RTOL = 1e-12


def public_functions(module) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(obj)
        for name, obj in vars(module).items()
        if inspect.isfunction(obj)
        and not name.startswith("_")
        and obj.__module__ == module.__name__
    }


def test_cabinetry_functions_exist_with_its_signatures() -> None:
    ours = public_functions(smooth)
    for name, signature in public_functions(cabinetry.smooth).items():
        assert name in ours
        assert list(ours[name].parameters) == list(signature.parameters)


def random_inputs(seed: int) -> list[np.ndarray]:
    """Random arrays; small integers give the ties that trigger every branch."""
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(100):
        n = int(rng.integers(3, 25))
        kind = rng.integers(3)
        if kind == 0:
            arrays.append(rng.integers(0, 5, n))  # integers: smoothed as floats
        elif kind == 1:
            arrays.append(rng.normal(1.0, 0.3, n))  # negatives: no clipping
        else:
            arrays.append(rng.exponential(10.0, n) * (rng.random(n) < 0.7))
    return arrays


def test_arrays_match_cabinetry() -> None:
    for values in random_inputs(11):
        expected = cabinetry.smooth.smooth_353qh_twice(values.copy())
        got = smooth.smooth_353qh_twice(values.copy())
        assert isinstance(got, np.ndarray)
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


def test_lists_match_cabinetry() -> None:
    for values in random_inputs(12)[:30]:
        expected = cabinetry.smooth.smooth_353qh_twice(values.tolist())
        got = smooth.smooth_353qh_twice(values.tolist())
        assert isinstance(got, list)
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("values", [[], [2.0], [1.0, 3.0], np.array([1.0, 3.0])])
def test_short_inputs_returned_with_cabinetrys_warning(values, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        expected = cabinetry.smooth.smooth_353qh_twice(values)
        got = smooth.smooth_353qh_twice(values)
    assert got is values and expected is values
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and messages[0] == messages[1]
