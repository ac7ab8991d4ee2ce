"""Shared fixtures for hifit's Python tests.

The pyhf parity suite (``test_parity_pyhf.py``) runs several checks per
model. Building a model and fitting it is the expensive part (a pyhf reference
fit of 1Lbb takes ~25 s), so every per-case result is computed once per
session and shared by all checks of that case. pyhf and hifit are imported
lazily so that tests which need neither keep working without them.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest


class CaseFailedEarlier(RuntimeError):
    """A cached per-case computation failed in an earlier test."""


class _PerCaseCache:
    """Memoise ``compute(case)`` by case id, remembering failures too.

    A case whose pyhf reference or hifit model fails to build then fails each
    of its tests quickly instead of recomputing a slow failure every time.
    """

    def __init__(self, compute):
        self._compute = compute
        self._results = {}

    def __call__(self, case):
        if case.id not in self._results:
            try:
                self._results[case.id] = (True, self._compute(case))
            except Exception as exc:
                # Keep the root cause when a cache built on another one fails.
                failed = exc.__cause__ if isinstance(exc, CaseFailedEarlier) else exc
                self._results[case.id] = (False, failed)
                raise
        ok, value = self._results[case.id]
        if not ok:
            # A fresh exception keeps the original traceback from growing.
            raise CaseFailedEarlier(f"{case.id}: {value!r}") from value
        return value


@functools.cache
def _hifit_patchset(path: str):
    import hifit

    return hifit.PatchSet.load(path)


def _hifit_model_and_data(case):
    """Build the case's model the way a hifit user would."""
    import hifit

    workspace = hifit.Workspace.load(str(case.workspace))
    if case.patch_file is not None:
        workspace = workspace.apply_patch(json.loads(case.patch_file.read_text()))
    if case.patchset is not None:
        patchset = _hifit_patchset(str(case.patchset))
        workspace = patchset.apply(workspace, case.patch_name)
    model = workspace.model(poi_name=None) if case.poi_less else workspace.model()
    return model, np.asarray(workspace.data(model), dtype=float)


@pytest.fixture(scope="session")
def _pyhf_references():
    from pyhf_reference import reference_for_case

    return _PerCaseCache(reference_for_case)


@pytest.fixture(scope="session")
def _hifit_models():
    return _PerCaseCache(_hifit_model_and_data)


@pytest.fixture(scope="session")
def _hifit_fits(_hifit_models):
    import hifit

    def fit(case):
        model, data = _hifit_models(case)
        return hifit.infer.fit(data, model)

    return _PerCaseCache(fit)


# The fixtures below need a ``case`` parameter (a pyhf_reference.Case).


@pytest.fixture
def pyhf_ref(case, _pyhf_references):
    """pyhf's structure, twice_nll at init and converged MLE for the case."""
    return _pyhf_references(case)


@pytest.fixture
def hifit_model_data(case, _hifit_models):
    """(hifit model, hifit data vector) for the case."""
    return _hifit_models(case)


@pytest.fixture
def hifit_mle(case, _hifit_fits):
    """hifit's MLE with default init/bounds/fixed on the workspace's data."""
    return _hifit_fits(case)
