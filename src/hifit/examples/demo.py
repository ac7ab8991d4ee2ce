"""A realistic example analysis, generated deterministically: ntuples and a config.

Signal and two backgrounds (ttbar, W+jets) in a signal region (>= 2 b-tags) and a
control region (1 b-tag), weighted events, Normalization and NormPlusShape systematics
(a modelling variation from an alternative sample and a weight-based energy-scale
variation) and a free ttbar normalisation. ``python -m hifit.examples.demo OUTDIR``
writes ``OUTDIR/ntuples.root`` and ``OUTDIR/config.yml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..io import root_file, write_text_atomic

LUMI_EVENTS = {"signal": 300, "ttbar": 6000, "wjets": 2500}
MC_EVENTS = 40_000


def _mass(rng: np.random.Generator, process: str, n: int) -> np.ndarray:
    if process == "signal":
        return rng.normal(500.0, 40.0, n)
    scale = 180.0 if process == "ttbar" else 140.0
    return 200.0 + rng.exponential(scale, n)


def _nbtag(rng: np.random.Generator, process: str, n: int) -> np.ndarray:
    p_two = {"signal": 0.7, "ttbar": 0.45, "wjets": 0.1}[process]
    return np.where(rng.random(n) < p_two, 2, 1)


def _sample(rng: np.random.Generator, process: str, n: int, yield_: float) -> dict:
    mass = _mass(rng, process, n)
    weight = rng.normal(1.0, 0.1, n)
    weight *= yield_ / weight.sum()
    # energy-scale variation: a mass-dependent reweighting, up and down
    shift = 0.08 * (mass - 400.0) / 400.0
    return {
        "mass": mass,
        "nbtag": _nbtag(rng, process, n),
        "weight": weight,
        "weight_jes_up": weight * (1.0 + shift),
        "weight_jes_down": weight * (1.0 - shift),
    }


def _pseudodata(rng: np.random.Generator) -> dict:
    parts = {"mass": [], "nbtag": []}
    for process, expected in LUMI_EVENTS.items():
        n = rng.poisson(expected * (1.2 if process == "signal" else 1.0))
        parts["mass"].append(_mass(rng, process, n))
        parts["nbtag"].append(_nbtag(rng, process, n))
    return {key: np.concatenate(values) for key, values in parts.items()}


CONFIG = """\
General:
  Measurement: "demo"
  POI: "mu_signal"
  InputPath: "{inputs}"
  HistogramFolder: "{histograms}"

Regions:
  - Name: "SR"
    Variable: "mass"
    Filter: "nbtag >= 2"
    Binning: [300, 400, 450, 500, 550, 600, 800]
  - Name: "CR"
    Variable: "mass"
    Filter: "nbtag == 1"
    Binning: [200, 350, 500, 800]

Samples:
  - Name: "Data"
    Tree: "data"
    Data: true
  - Name: "Signal"
    Tree: "signal"
    Weight: "weight"
  - Name: "ttbar"
    Tree: "ttbar"
    Weight: "weight"
  - Name: "W+jets"
    Tree: "wjets"
    Weight: "weight"

NormFactors:
  - Name: "mu_signal"
    Samples: "Signal"
    Nominal: 1
    Bounds: [0, 10]
  - Name: "norm_ttbar"
    Samples: "ttbar"
    Nominal: 1
    Bounds: [0, 5]

Systematics:
  - Name: "Luminosity"
    Type: "Normalization"
    Up:
      Normalization: 0.017
    Down:
      Normalization: -0.017
  - Name: "Wjets_xsec"
    Type: "Normalization"
    Samples: "W+jets"
    Up:
      Normalization: 0.2
    Down:
      Normalization: -0.2
  - Name: "ttbar_modelling"
    Type: "NormPlusShape"
    Samples: "ttbar"
    Up:
      Tree: "ttbar_alternative"
    Down:
      Symmetrize: true
  - Name: "JES"
    Type: "NormPlusShape"
    Samples: ["Signal", "ttbar", "W+jets"]
    Up:
      Weight: "weight_jes_up"
    Down:
      Weight: "weight_jes_down"
"""


def generate(outdir: str | Path, seed: int = 20261126) -> Path:
    """Write the ntuples and the config; returns the config path."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    trees = {p: _sample(rng, p, MC_EVENTS, y) for p, y in LUMI_EVENTS.items()}
    # an alternative ttbar generator: slightly harder spectrum, 4 % more events
    alt = _sample(rng, "ttbar", MC_EVENTS, 1.04 * LUMI_EVENTS["ttbar"])
    alt["mass"] = 200.0 + (alt["mass"] - 200.0) * 1.05
    trees["ttbar_alternative"] = alt
    trees["data"] = _pseudodata(rng)
    ntuples = out / "ntuples.root"
    with root_file(ntuples) as f:
        for name, branches in trees.items():
            # a TTree explicitly: assigning a dict may write an RNTuple, which
            # uproot's cut= does not filter
            f.mktree(name, {key: values.dtype for key, values in branches.items()})
            f[name].extend(branches)
    config = out / "config.yml"
    write_text_atomic(
        config,
        CONFIG.format(
            inputs=ntuples.resolve(), histograms=(out / "histograms").resolve()
        ),
    )
    return config


if __name__ == "__main__":
    print(generate(sys.argv[1] if len(sys.argv) > 1 else "demo-output"))
