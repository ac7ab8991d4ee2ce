"""-2 ln L keeps full precision with huge counts and Poisson constraint factors.

Synthetic pyhf workspaces (shapesys with tau from 1e4 to 1e13, staterror, normsys,
histosys, main counts up to 1e9) and Combine counting cards (counts up to 1e9, a gmN
with N = 1e9, lnN) are evaluated at several points and compared with pyhf's formula
(pyhf-model.md §5.2) summed in 50-digit mpmath arithmetic. The inputs of that sum are
the model's expected rates in double precision (checked against pyhf's own for the
workspaces); gamma * tau and every log, lgamma and sum are exact in the reference.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pyhf
import pytest

import hifit
from hifit.datacard import load_model

RTOL = 1e-9
TAUS = [1e4, 1e7, 1e9, 1e11, 1e13]


def ln_poisson(n, rate) -> mpmath.mpf:
    """ln Pois(n | rate), continuous in n; xlogy(0, rate) = 0."""
    n, rate = mpmath.mpf(n), mpmath.mpf(rate)
    return (n * mpmath.log(rate) if n else 0) - rate - mpmath.loggamma(n + 1)


def ln_gauss(a, theta, sigma) -> mpmath.mpf:
    a, theta, sigma = mpmath.mpf(a), mpmath.mpf(theta), mpmath.mpf(sigma)
    return -(((a - theta) / sigma) ** 2) / 2 - mpmath.log(
        sigma * mpmath.sqrt(2 * mpmath.pi)
    )


def reference_terms(nu, data, poisson, gaussian):
    """-2 ln L and -2 ln L_saturated in mpmath: main terms at the rates nu, Poisson
    constraints (aux, gamma, tau) and Gaussian constraints (aux, theta, sigma)."""
    with mpmath.workdps(50):
        nll = sum(ln_poisson(n, v) for n, v in zip(data, nu, strict=True))
        sat = sum(ln_poisson(n, n) for n in data)
        for a, gamma, tau in poisson:
            nll += ln_poisson(a, mpmath.mpf(gamma) * mpmath.mpf(tau))
            sat += ln_poisson(a, a)
        for a, theta, sigma in gaussian:
            nll += ln_gauss(a, theta, sigma)
            sat += ln_gauss(a, a, sigma)
        return -2 * nll, -2 * sat


def pyhf_reference(spec, model, pars, data):
    """pyhf's -2 ln L at pars; the constraint structure comes from pyhf's model."""
    pmodel = pyhf.Workspace(spec).model()
    assert pmodel.config.par_names == model.config.par_names
    nmain = model.config.nmaindata
    nu = model.expected_data(pars, include_auxdata=False)
    np.testing.assert_allclose(nu, pmodel.expected_actualdata(pars), rtol=1e-12)
    aux_data, nominal_aux = data[nmain:], model.config.auxdata
    poisson, gaussian, offset = [], [], 0
    for name in pmodel.config.auxdata_order:
        paramset = pmodel.config.param_set(name)
        size = len(paramset.auxdata)
        aux = aux_data[offset : offset + size]
        theta = np.asarray(pars)[pmodel.config.par_slice(name)]
        if paramset.pdf_type == "poisson":
            # tau = (nominal / sigma)^2 as hifit rounded it: its nominal auxdata
            tau = nominal_aux[offset : offset + size]
            np.testing.assert_allclose(tau, paramset.factors, rtol=1e-15)
            poisson += zip(aux, theta, tau, strict=True)
        else:
            gaussian += zip(aux, theta, paramset.width(), strict=True)
        offset += size
    assert offset == len(aux_data)
    return reference_terms(nu, data[:nmain], poisson, gaussian)


def combine_reference(model, pars, data, masked=()):
    """-2 ln L of a Combine model: unit Gaussians (lnN) and Poisson(N | gamma N) (gmN)
    around its auxiliary data; masked channels contribute nothing."""
    config, nmain = model.config, model.config.nmaindata
    nu = model.expected_data(pars, include_auxdata=False)
    keep = np.concatenate(
        [
            np.full(n, channel not in masked)
            for channel, n in config.channel_nbins.items()
        ]
    )
    aux = iter(zip(data[nmain:], config.auxdata, strict=True))
    poisson, gaussian = [], []
    for p in config.paramsets:
        if p.constraint == "constrained_by_poisson":
            a, n_events = next(aux)
            poisson.append((a, pars[p.offset], n_events))  # gmN N: tau = N
        elif p.constraint == "constrained_by_normal":
            gaussian.append((next(aux)[0], pars[p.offset], 1.0))
    return reference_terms(nu[keep], data[:nmain][keep], poisson, gaussian)


def assert_close(got, want, what):
    want = float(want)
    assert abs(got - want) <= RTOL * abs(want), f"{what}: {got!r} vs {want!r}"


def shapesys_spec(tau, *, gamma="free", counts=(300.0, 200.0, 50.0)):
    """Signal on a background with a shapesys of factor tau (gamma "free", "fixed" at
    1, or "none": the modifier removed, the tau -> infinity limit), a normsys and a
    histosys."""
    bkg_mods = [
        {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.05, "lo": 0.96}},
        {
            "name": "bkg_shape",
            "type": "histosys",
            "data": {
                "hi_data": [b * (1 + 0.02 * (i + 1)) for i, b in enumerate(counts)],
                "lo_data": [b * (1 - 0.015 * (i + 1)) for i, b in enumerate(counts)],
            },
        },
    ]
    if gamma != "none":
        unc = [b / math.sqrt(tau) for b in counts]
        bkg_mods.append({"name": "uncorr", "type": "shapesys", "data": unc})
    fixed = [{"name": "uncorr", "fixed": True}] if gamma == "fixed" else []
    return {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "signal",
                        "data": [20.0, 10.0, 3.0],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None}
                        ],
                    },
                    {"name": "background", "data": list(counts), "modifiers": bkg_mods},
                ],
            }
        ],
        "observations": [{"name": "SR", "data": [310.0, 205.0, 49.0]}],
        "measurements": [
            {"name": "meas", "config": {"poi": "mu", "parameters": fixed}}
        ],
        "version": "1.0.0",
    }


def large_count_spec():
    """Main counts 1e6..1e9 with staterror, normsys, histosys, a lumi and a shapesys
    with tau = 1e11 on a second background."""
    main = [1e6, 3e7, 1e9]
    other = [5e4, 2e5, 1e7]
    return {
        "channels": [
            {
                "name": "big",
                "samples": [
                    {
                        "name": "signal",
                        "data": [2e3, 3e4, 5e5],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "lumi", "type": "lumi", "data": None},
                        ],
                    },
                    {
                        "name": "main",
                        "data": main,
                        "modifiers": [
                            {
                                "name": "stat",
                                "type": "staterror",
                                "data": [b * 1e-4 for b in main],
                            },
                            {
                                "name": "norm",
                                "type": "normsys",
                                "data": {"hi": 1.002, "lo": 0.997},
                            },
                            {
                                "name": "shape",
                                "type": "histosys",
                                "data": {
                                    "hi_data": [b * 1.001 for b in main],
                                    "lo_data": [b * 0.9995 for b in main],
                                },
                            },
                        ],
                    },
                    {
                        "name": "other",
                        "data": other,
                        "modifiers": [
                            {
                                "name": "uncorr",
                                "type": "shapesys",
                                "data": [b / math.sqrt(1e11) for b in other],
                            }
                        ],
                    },
                ],
            }
        ],
        "observations": [
            {"name": "big", "data": [1051234.0, 30250321.0, 1010502345.0]}
        ],
        "measurements": [
            {
                "name": "meas",
                "config": {
                    "poi": "mu",
                    "parameters": [
                        {
                            "name": "lumi",
                            "auxdata": [1.0],
                            "sigmas": [0.017],
                            "inits": [1.0],
                            "bounds": [[0.9, 1.1]],
                        }
                    ],
                },
            }
        ],
        "version": "1.0.0",
    }


def build(spec):
    ws = hifit.Workspace(spec)
    model = ws.model()
    return model, np.asarray(ws.data(model))


def points(model, data):
    """Nominal, best fit, and the best fit moved by about one standard deviation of
    every free parameter (alternating signs), with the fit result."""
    best = hifit.infer.fit(data, model)
    assert best.valid, best.status
    assert best.edm < 1e-9
    init = np.asarray(model.config.suggested_init(), dtype=float)
    signs = np.where(np.arange(len(init)) % 2, -1.0, 1.0)
    shifted = np.asarray(best.bestfit) + signs * np.asarray(best.uncertainty)
    return [init, np.asarray(best.bestfit), shifted], best


CASES = [pytest.param(shapesys_spec(t), id=f"shapesys-tau{t:.0e}") for t in TAUS] + [
    pytest.param(large_count_spec(), id="counts-1e9")
]


@pytest.mark.parametrize("spec", CASES)
def test_pyhf_model_matches_mpmath_reference(spec):
    model, data = build(spec)
    pts, best = points(model, data)
    asimov = model.expected_data(pts[2])  # non-integer main counts and aux data
    for data_set in (data, asimov):
        for pars in pts:
            want, _ = pyhf_reference(spec, model, pars, data_set)
            got = model.twice_nll(pars, data_set)
            assert_close(got, want, f"twice_nll at {pars}")
    # the goodness of fit is the deviance at the best fit
    want, saturated = pyhf_reference(spec, model, best.bestfit, data)
    gof = hifit.infer.goodness_of_fit(data, model, best)
    assert_close(gof.twice_delta_nll, want - saturated, "goodness of fit")


@pytest.mark.parametrize("spec", CASES)
def test_fits_converge(spec):
    model, data = build(spec)
    for mu in (0.0, 1.0):
        r = hifit.infer.fixed_poi_fit(mu, data, model)
        assert r.valid, (mu, r.status)
        assert r.edm < 1e-9
        # at the fixed-POI optimum no other parameter lowers -2 ln L
        want, _ = pyhf_reference(spec, model, r.bestfit, data)
        assert_close(r.twice_nll, want, f"fixed-POI fit mu={mu}")


@pytest.mark.parametrize("tau", [1e11, 1e13])
def test_cls_with_tiny_shapesys_uncertainty_is_its_limit(tau):
    """CLs at mu = 1 equals the tau -> infinity limits (gamma fixed at 1, or no
    shapesys at all): their physical difference scales as 1/tau (2e-3 at tau = 1e4),
    so 2e-10 at tau = 1e11."""

    def cls(gamma):
        model, data = build(shapesys_spec(tau, gamma=gamma))
        r = hifit.infer.hypotest(1.0, data, model)
        assert r.valid, r.message
        return r.CLs_obs

    free, fixed, none = cls("free"), cls("fixed"), cls("none")
    assert abs(free - none) < 1e-7
    assert abs(fixed - none) < 1e-7


CARD = """\
imax 2 jmax 2 kmax *
---
bin          b1          b2
observation  {obs1}  {obs2}
---
bin          b1      b1          b1     b2     b2       b2
process      sig     bkg         side   sig    bkg      side
process      0       1           2      0      1        2
rate         50000   1000000000  2000   3000   2500000  1000
---
lumi   lnN          1.025  1.025  -   1.025  1.025  -
bkgn   lnN          -      1.001  -   -      1.01   -
side   gmN 1000000000  -   -      0.000002  -  -    0.000001
"""


@pytest.mark.parametrize("masked", [(), ("b2",)], ids=["all", "masked-b2"])
@pytest.mark.parametrize("obs", [(1000031623, 2500321), (999900000, 2480000)])
def test_combine_card_matches_mpmath_reference(tmp_path, obs, masked):
    path = tmp_path / "card.txt"
    path.write_text(CARD.format(obs1=obs[0], obs2=obs[1]))
    built = load_model(str(path), masked_channels=masked)
    model, data = built.model, np.asarray(built.data)
    pts, best = points(model, data)
    asimov = model.expected_data(pts[2])
    for data_set in (data, asimov):
        for pars in pts:
            want, _ = combine_reference(model, pars, data_set, masked)
            assert_close(model.twice_nll(pars, data_set), want, f"at {pars}")
    want, saturated = combine_reference(model, best.bestfit, data, masked)
    gof = hifit.infer.goodness_of_fit(data, model, best)
    assert_close(gof.twice_delta_nll, want - saturated, "goodness of fit")
