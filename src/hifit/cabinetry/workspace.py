"""pyhf workspaces from a cabinetry configuration: build, validate, save, load.

Same API and rules as ``cabinetry.workspace``, so notebooks run unchanged with
``import hifit as cabinetry``:

* one channel per region, named like the region;
* samples in config order (the Data sample and samples outside the region skipped),
  with the nominal yields of the post-processed (``_modified``) templates;
* modifiers per sample in the order staterror (``staterror_{region}``, spaces
  replaced by ``-``, unless ``DisableStaterror``), NormFactors, then systematics in
  config order: ``Normalization`` gives a ``normsys``, ``NormPlusShape`` a ``normsys``
  with the norm effect plus a ``histosys`` with the templates normalised to the
  nominal yield (no ``histosys`` for one-bin channels);
* one measurement, whose parameters come from the NormFactors and ``General.Fixed``;
* observations from the Data sample in every region.

The norm effects are summed bin by bin with Python's ``sum`` as in cabinetry (not
numpy's pairwise sum), so the workspace is identical to cabinetry's to the last bit.
Validation compiles the workspace with :class:`hifit.Workspace`.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..input_files import read_utf8
from ..io import write_text_atomic
from ..pyhf_workspace import Workspace
from . import configuration, templates

__all__ = ["WorkspaceBuilder", "build", "load", "save", "validate"]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

Dict = dict[str, Any]


class WorkspaceBuilder:
    """Builds the pyhf workspace of a cabinetry configuration."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config

    # --- templates --------------------------------------------------------------

    def _yields(
        self,
        region: Dict,
        sample: Dict,
        systematic: Dict | None = None,
        template: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Yields and stdev of a post-processed template."""
        yields, stdev, _ = templates.load_template(
            self.config, region, sample, systematic or None, template, modified=True
        )
        return np.asarray(yields, dtype=float), np.asarray(stdev, dtype=float)

    def _data_sample(self) -> Dict:
        data_samples = [s for s in self.config["Samples"] if s.get("Data", False)]
        if len(data_samples) != 1:
            raise ValueError("did not find exactly one data sample")
        return data_samples[0]

    def _constant_parameter_setting(self, par_name: str) -> float | None:
        """The value ``General.Fixed`` holds ``par_name`` at, None if it is free.

        Matched by ``Name`` (not ``ModifierName``), first entry wins, as in cabinetry.
        """
        fixed = self.config["General"].get("Fixed", [])
        return next((f["Value"] for f in fixed if f["Name"] == par_name), None)

    # --- modifiers --------------------------------------------------------------

    def normfactor_modifiers(self, region: Dict, sample: Dict) -> list[Dict]:
        return [
            {"data": None, "name": nf["Name"], "type": "normfactor"}
            for nf in self.config["NormFactors"]
            if configuration.region_contains_modifier(region, nf)
            and configuration.sample_contains_modifier(sample, nf)
        ]

    @staticmethod
    def normalization_modifier(systematic: Dict) -> Dict:
        """An OverallSys: ``hi/lo = 1 + Up/Down.Normalization``."""
        return {
            "name": systematic.get("ModifierName", systematic["Name"]),
            "type": "normsys",
            "data": {
                "hi": 1 + systematic["Up"]["Normalization"],
                "lo": 1 + systematic["Down"]["Normalization"],
            },
        }

    def _norm_and_shape(
        self, region: Dict, sample: Dict, systematic: Dict, nominal: np.ndarray
    ) -> tuple[float, float, list[float], list[float]]:
        """Norm effects (hi, lo) and the normalised shape templates (up, down).

        A symmetrised side is built from the other one *after* normalising it
        ("method 1" of cabinetry issue #26): ``lo = 2 - hi``, ``D' = 2N - U'``.
        """
        up_sym = systematic.get("Up", {}).get("Symmetrize", False)
        down_sym = systematic.get("Down", {}).get("Symmetrize", False)
        if up_sym and down_sym:
            raise ValueError(
                f"cannot symmetrize both Up and Down of systematic {systematic['Name']}"
            )
        nominal_sum = sum(nominal)
        sides = {}
        for side in ("Up", "Down"):
            if (side == "Up" and up_sym) or (side == "Down" and down_sym):
                continue
            varied, _ = self._yields(region, sample, systematic, side)
            norm = sum(varied) / nominal_sum
            sides[side] = (norm, varied / norm)
        if down_sym:
            hi, up = sides["Up"]
            sides["Down"] = (2 - hi, 2 * nominal - up)
        elif up_sym:
            lo, down = sides["Down"]
            sides["Up"] = (2 - lo, 2 * nominal - down)
        (hi, up), (lo, down) = sides["Up"], sides["Down"]
        log.debug(
            "normalization impact of systematic %s on sample %s in region %s is "
            "%.3f / %.3f",
            systematic["Name"],
            sample["Name"],
            region["Name"],
            hi,
            lo,
        )
        return float(hi), float(lo), up.tolist(), down.tolist()

    def normplusshape_modifiers(
        self, region: Dict, sample: Dict, systematic: Dict
    ) -> list[Dict]:
        """A ``normsys`` with the norm effect and a ``histosys`` with the shape.

        The ``histosys`` is left out for one-bin channels: it has no shape there.
        """
        nominal, _ = self._yields(region, sample)
        hi, lo, up, down = self._norm_and_shape(region, sample, systematic, nominal)
        name = systematic.get("ModifierName", systematic["Name"])
        modifiers = [{"name": name, "type": "normsys", "data": {"hi": hi, "lo": lo}}]
        if len(nominal) > 1:
            modifiers.append(
                {
                    "name": name,
                    "type": "histosys",
                    "data": {"hi_data": up, "lo_data": down},
                }
            )
        return modifiers

    def sys_modifiers(self, region: Dict, sample: Dict) -> list[Dict]:
        modifiers: list[Dict] = []
        for systematic in self.config.get("Systematics", []):
            if not (
                configuration.region_contains_modifier(region, systematic)
                and configuration.sample_contains_modifier(sample, systematic)
            ):
                continue
            if systematic["Type"] == "Normalization":
                modifiers.append(self.normalization_modifier(systematic))
            elif systematic["Type"] == "NormPlusShape":
                modifiers += self.normplusshape_modifiers(region, sample, systematic)
            else:
                raise NotImplementedError("not supporting other systematic types yet")
        return modifiers

    # --- workspace blocks -------------------------------------------------------

    def _sample(self, region: Dict, sample: Dict) -> Dict:
        yields, stdev = self._yields(region, sample)
        modifiers: list[Dict] = []
        if not sample.get("DisableStaterror", False):
            modifiers.append(
                {
                    "name": "staterror_" + region["Name"].replace(" ", "-"),
                    "type": "staterror",
                    "data": stdev.tolist(),
                }
            )
        modifiers += self.normfactor_modifiers(region, sample)
        modifiers += self.sys_modifiers(region, sample)
        return {"name": sample["Name"], "data": yields.tolist(), "modifiers": modifiers}

    def channels(self) -> list[Dict]:
        channels = []
        for region in self.config["Regions"]:
            samples = [
                self._sample(region, sample)
                for sample in self.config["Samples"]
                if not sample.get("Data", False)
                and configuration.region_contains_sample(region, sample)
            ]
            channels.append({"name": region["Name"], "samples": samples})
        return channels

    def _normfactor_parameter(self, nf: Dict) -> Dict:
        init = nf.get("Nominal")
        bounds = nf.get("Bounds")
        fixed = self._constant_parameter_setting(nf["Name"])
        if init is None and fixed is not None:
            init = fixed  # a constant NormFactor starts at its constant value
        parameter: Dict = {"name": nf["Name"]}
        if init is not None:
            parameter["inits"] = [init]
        if bounds is not None:
            parameter["bounds"] = [bounds]
        if fixed is not None:
            parameter["fixed"] = True
        return parameter

    def measurements(self) -> list[Dict]:
        parameters = [
            self._normfactor_parameter(nf) for nf in self.config.get("NormFactors", [])
        ]
        for systematic in self.config.get("Systematics", []):
            fixed = self._constant_parameter_setting(systematic["Name"])
            if fixed is not None:
                parameters.append(
                    {"name": systematic["Name"], "inits": [fixed], "fixed": True}
                )
        return [
            {
                "name": self.config["General"]["Measurement"],
                "config": {
                    "parameters": parameters,
                    # "" means "no POI" to pyhf
                    "poi": self.config["General"].get("POI", ""),
                },
            }
        ]

    def observations(self) -> list[Dict]:
        data_sample = self._data_sample()
        return [
            {
                "name": region["Name"],
                "data": self._yields(region, data_sample)[0].tolist(),
            }
            for region in self.config["Regions"]
        ]

    def build(self) -> Dict:
        return {
            "channels": self.channels(),
            "measurements": self.measurements(),
            "observations": self.observations(),
            "version": "1.0.0",
        }


def build(config: Mapping[str, Any], *, with_validation: bool = True) -> Dict:
    """The pyhf workspace (a dict) of a cabinetry configuration.

    Args:
        config: cabinetry configuration; templates are read from
            ``General.HistogramFolder`` (post-processed copies preferred)
        with_validation: compile the workspace with :class:`hifit.Workspace`

    Returns:
        the workspace, ready for ``model_utils.model_and_data`` or ``save``
    """
    log.info("building workspace")
    ws = WorkspaceBuilder(config).build()
    if with_validation:
        validate(ws)
    return ws


def validate(ws: Mapping[str, Any]) -> None:
    """Raise if the workspace is not a valid pyhf workspace (schema and model)."""
    Workspace(ws)


def save(ws: Mapping[str, Any], file_path_string: str | os.PathLike[str]) -> None:
    """Write the workspace as JSON (sorted keys, indent 4), creating the folder.

    The file is written to a temporary name and then renamed, so readers never see
    a partial workspace.
    """
    file_path = pathlib.Path(file_path_string)
    log.debug("saving workspace to %s", file_path)
    # cabinetry's exact text: sorted keys, indent 4, no final newline
    write_text_atomic(file_path, json.dumps(ws, sort_keys=True, indent=4))


def load(file_path_string: str | os.PathLike[str]) -> Dict:
    """Read a workspace JSON file into a dict."""
    return json.loads(read_utf8(file_path_string, "a workspace JSON file"))
