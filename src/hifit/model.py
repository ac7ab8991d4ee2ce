"""Compiled models: pyhf-style configuration and likelihood evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _core


def as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Contiguous float64 view or copy, as the core expects."""
    return np.ascontiguousarray(values, dtype=np.float64).reshape(-1)


class ModelConfig:
    """Model structure with pyhf's names (``par_names``, ``suggested_init()`` ...)."""

    __slots__ = ("_model",)

    def __init__(self, core: _core.Model) -> None:
        self._model = core

    @property
    def npars(self) -> int:
        return self._model.npars

    @property
    def par_names(self) -> list[str]:
        return list(self._model.par_names)

    @property
    def par_order(self) -> list[str]:
        return [p.name for p in self._model.paramsets]

    @property
    def poi_index(self) -> int | None:
        return self._model.poi_index

    @property
    def poi_name(self) -> str | None:
        return self._model.poi_name or None

    @property
    def channels(self) -> list[str]:
        return list(self._model.channels)

    @property
    def channel_nbins(self) -> dict[str, int]:
        return dict(zip(self._model.channels, self._model.channel_nbins, strict=True))

    @property
    def samples(self) -> list[str]:
        return list(self._model.samples)

    @property
    def nmaindata(self) -> int:
        return self._model.nmain

    @property
    def nauxdata(self) -> int:
        return self._model.naux

    @property
    def auxdata(self) -> list[float]:
        return list(self._model.auxdata)

    @property
    def measurement_name(self) -> str:
        return self._model.measurement_name

    def suggested_init(self) -> list[float]:
        return list(self._model.suggested_init)

    def suggested_bounds(self) -> list[tuple[float, float]]:
        return [tuple(b) for b in self._model.suggested_bounds]

    def suggested_fixed(self) -> list[bool]:
        return list(self._model.suggested_fixed)

    def par_slice(self, name: str) -> slice:
        p = self.param_set(name)
        return slice(p.offset, p.offset + p.size)

    def param_set(self, name: str) -> _core.ParamSetInfo:
        for p in self._model.paramsets:
            if p.name == name:
                return p
        msg = f"the model has no parameter named {name!r}"
        raise KeyError(msg)

    @property
    def paramsets(self) -> list[_core.ParamSetInfo]:
        return list(self._model.paramsets)


class Model:
    """A compiled likelihood. Immutable; safe to share between threads."""

    __slots__ = ("_model", "_recipe", "config")

    def __init__(self, core: _core.Model, *, recipe: tuple | None = None) -> None:
        self._model = core
        self._recipe = recipe  # (function, args) that build it again: for pickling
        self.config = ModelConfig(core)

    def with_poi_model(self, name: str) -> Model:
        """The same model with ``name`` as its POI (it pickles if this one does)."""
        return _with_poi(self, name)

    def __reduce__(self) -> tuple:
        """Pickled as the recipe that built it (a workspace and the model options),
        rebuilt where it is unpickled: Dask sends models to worker processes."""
        if self._recipe is None:
            msg = (
                "this model cannot be sent to Dask workers (models built from a "
                "pyhf workspace or read from a datacard can); run it on threads"
            )
            raise _core.InvalidArgument(msg)
        return self._recipe

    def likelihood(self, data: Sequence[float] | np.ndarray) -> _core.Likelihood:
        """An evaluation context bound to ``data`` (reuse it for repeated calls)."""
        return _core.Likelihood(self._model, as_array(data))

    def twice_nll(self, pars: Sequence[float], data: Sequence[float]) -> float:
        """-2 ln L(pars | data), with all normalisation constants (as pyhf)."""
        return self.likelihood(data).twice_nll(as_array(pars))

    def logpdf(self, pars: Sequence[float], data: Sequence[float]) -> np.ndarray:
        """ln L as an array of shape (1,), like pyhf's ``Model.logpdf``."""
        return np.array([-0.5 * self.twice_nll(pars, data)])

    def _full_data(self, main: np.ndarray | None, aux: np.ndarray | None) -> np.ndarray:
        c = self.config
        main = np.zeros(c.nmaindata) if main is None else as_array(main)
        aux = np.asarray(c.auxdata, dtype=float) if aux is None else as_array(aux)
        return np.concatenate([main, aux])

    def constraint_logpdf(
        self, auxdata: Sequence[float], pars: Sequence[float]
    ) -> np.ndarray:
        """ln L of the constraint terms (pyhf's ``Model.constraint_logpdf``)."""
        lh = self.likelihood(self._full_data(None, as_array(auxdata)))
        return np.array([-0.5 * lh.twice_nll_constraints(as_array(pars))])

    def mainlogpdf(
        self, maindata: Sequence[float], pars: Sequence[float]
    ) -> np.ndarray:
        """ln L of the main (Poisson) terms (pyhf's ``Model.mainlogpdf``)."""
        lh = self.likelihood(self._full_data(as_array(maindata), None))
        p = as_array(pars)
        return np.array([-0.5 * (lh.twice_nll(p) - lh.twice_nll_constraints(p))])

    def expected_data(
        self, pars: Sequence[float], include_auxdata: bool = True
    ) -> np.ndarray:
        """Expected main rates followed (optionally) by the expected auxdata."""
        dummy = np.zeros(self.config.nmaindata + self.config.nauxdata)
        dummy[self.config.nmaindata :] = self.config.auxdata
        return self.likelihood(dummy).expected_data(as_array(pars), include_auxdata)

    @property
    def nominal_rates(self) -> np.ndarray:
        """The samples' nominal rates before any modifier, as pyhf's
        ``Model.nominal_rates``: shape (1, samples, 1, bins) — modifier, sample
        (``config.samples`` order), alpha-set (hifit models are not batched) and
        main-bin axes —, zero where a sample is absent from a channel. HistFactory
        models only (a Combine model raises
        :class:`hifit.exceptions.InvalidArgument`)."""
        rates = _core.nominal_by_sample(self._model)
        return rates.reshape(1, rates.shape[0], 1, rates.shape[1])

    def expected_actualdata(self, pars: Sequence[float]) -> np.ndarray:
        return self.expected_data(pars, include_auxdata=False)

    def expected_auxdata(self, pars: Sequence[float]) -> np.ndarray:
        """Expected auxiliary data (the constraint terms' centres) at ``pars``."""
        return self.expected_data(pars)[self.config.nmaindata :]

    def __repr__(self) -> str:
        c = self.config
        return (
            f"<hifit.Model: {c.npars} parameters, {c.nmaindata} bins, POI {c.poi_name}>"
        )


def _with_poi(model: Model, name: str) -> Model:
    recipe = (_with_poi, (model, name)) if model._recipe is not None else None
    return Model(model._model.with_poi(name), recipe=recipe)
