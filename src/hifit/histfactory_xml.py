"""HistFactory XML + ROOT histograms <-> pyhf JSON (pyhf's xml2json/json2xml).

The XML is read with the standard library's ElementTree and the histograms with uproot;
the conversion rules are pyhf's (readxml/writexml), so that both tools turn the same
files into the same documents.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .exceptions import InvalidSpec

# Where a parameter's ROOT name gets its prefix (the inverse of _root_name_of).
_ROOT_PREFIX = {
    "normsys": "alpha_",
    "histosys": "alpha_",
    "shapesys": "gamma_",
    "staterror": "gamma_",
}
_XML_TAG = {
    "histosys": "HistoSys",
    "staterror": "StatError",
    "normsys": "OverallSys",
    "shapesys": "ShapeSys",
    "normfactor": "NormFactor",
    "shapefactor": "ShapeFactor",
}


# ---------------------------------------------------------------- XML -> JSON


class _Histograms:
    """ROOT files opened once each; paths resolved against base folder and mounts."""

    def __init__(self, basedir: Path, mounts: Iterable[tuple[Path, Path]]) -> None:
        self.basedir = basedir
        self.mounts = list(mounts)
        self.files: dict[str, tuple[Any, set[str]]] = {}

    def resolve(self, name: str) -> Path:
        path = Path(name)
        for host, mounted in self.mounts:
            if path == mounted or mounted in path.parents:
                path = host / path.relative_to(mounted)
                break
        return self.basedir / path

    def read(
        self, filename: str, folder: str, name: str
    ) -> tuple[list[float], list[float]]:
        """Bin contents and bin errors (sqrt of the sum of squared weights, or of the
        contents for an unweighted histogram) of ``folder/name`` in ``filename``."""
        import numpy as np
        import uproot

        full = str(self.resolve(filename))
        if full not in self.files:
            try:
                handle = uproot.open(full)
            except (OSError, ValueError) as err:
                raise InvalidSpec(
                    f"{full}: cannot read the ROOT file ({err})"
                ) from None
            self.files[full] = (handle, set(handle.keys(cycle=False)))
        handle, keys = self.files[full]
        inside = "/".join([(folder or "").strip("/"), name])
        key = name if name in keys else inside if inside in keys else None
        if key is None:
            raise InvalidSpec(f"{full}: has neither {name!r} nor {inside!r}")
        hist = handle[key]
        values = hist.to_numpy()[0]
        variances = hist.variances() if hist.weighted else values
        return values.tolist(), np.sqrt(variances).tolist()

    def close(self) -> None:
        for handle, _ in self.files.values():
            handle.close()


def _float(element: ET.Element, attribute: str, where: str) -> float:
    try:
        return float(element.attrib[attribute])
    except KeyError:
        raise InvalidSpec(
            f"{where}: <{element.tag}> has no {attribute} attribute"
        ) from None
    except ValueError:
        raise InvalidSpec(
            f"{where}: <{element.tag} {attribute}="
            f"{element.attrib[attribute]!r}> is not a number"
        ) from None


def _attr(element: ET.Element, attribute: str, where: str) -> str:
    try:
        return element.attrib[attribute]
    except KeyError:
        raise InvalidSpec(
            f"{where}: <{element.tag}> has no {attribute} attribute"
        ) from None


def _sample(
    node: ET.Element,
    hists: _Histograms,
    inputfile: str,
    histopath: str,
    channel: str,
    where: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    inputfile = node.attrib.get("InputFile", inputfile)
    histopath = node.attrib.get("HistoPath", histopath)
    data, errors = hists.read(inputfile, histopath, _attr(node, "HistoName", where))
    modifiers: list[dict[str, Any]] = []
    configs: list[dict[str, Any]] = []
    if node.attrib.get("NormalizeByTheory", "False") == "True":
        modifiers.append({"name": "lumi", "type": "lumi", "data": None})
    for tag in node:
        if tag.tag == "OverallSys":
            modifiers.append(
                {
                    "name": _attr(tag, "Name", where),
                    "type": "normsys",
                    "data": {
                        "lo": _float(tag, "Low", where),
                        "hi": _float(tag, "High", where),
                    },
                }
            )
        elif tag.tag == "NormFactor":
            name = _attr(tag, "Name", where)
            modifiers.append({"name": name, "type": "normfactor", "data": None})
            config: dict[str, Any] = {
                "name": name,
                "bounds": [[_float(tag, "Low", where), _float(tag, "High", where)]],
                "inits": [_float(tag, "Val", where)],
            }
            if tag.attrib.get("Const"):
                config["fixed"] = tag.attrib["Const"] == "True"
            configs.append(config)
        elif tag.tag == "HistoSys":
            lo, _ = hists.read(
                tag.attrib.get("HistoFileLow", inputfile),
                tag.attrib.get("HistoPathLow", ""),
                _attr(tag, "HistoNameLow", where),
            )
            hi, _ = hists.read(
                tag.attrib.get("HistoFileHigh", inputfile),
                tag.attrib.get("HistoPathHigh", ""),
                _attr(tag, "HistoNameHigh", where),
            )
            modifiers.append(
                {
                    "name": _attr(tag, "Name", where),
                    "type": "histosys",
                    "data": {"lo_data": lo, "hi_data": hi},
                }
            )
        elif tag.tag == "StatError" and tag.attrib.get("Activate") == "True":
            if tag.attrib.get("HistoName", "") == "":
                staterror = errors
            else:
                relative, _ = hists.read(
                    tag.attrib.get("HistoFile", inputfile),
                    tag.attrib.get("HistoPath", ""),
                    tag.attrib["HistoName"],
                )
                staterror = [r * d for r, d in zip(relative, data, strict=False)]
            if not staterror:
                raise InvalidSpec(
                    f"{where}: cannot determine the statistical uncertainty"
                )
            modifiers.append(
                {"name": f"staterror_{channel}", "type": "staterror", "data": staterror}
            )
        elif tag.tag == "ShapeSys":
            relative, _ = hists.read(
                tag.attrib.get("InputFile", inputfile),
                tag.attrib.get("HistoPath", ""),
                _attr(tag, "HistoName", where),
            )
            modifiers.append(
                {
                    "name": _attr(tag, "Name", where),
                    "type": "shapesys",
                    "data": [d * r for d, r in zip(data, relative, strict=False)],
                }
            )
        elif tag.tag == "ShapeFactor":
            modifiers.append(
                {"name": _attr(tag, "Name", where), "type": "shapefactor", "data": None}
            )
    return {
        "name": _attr(node, "Name", where),
        "data": data,
        "modifiers": modifiers,
    }, configs


def _channel(
    path: Path, hists: _Histograms
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    where = str(path)
    root = _parse(path)
    inputfile = root.attrib.get("InputFile", "")
    histopath = root.attrib.get("HistoPath", "")
    name = _attr(root, "Name", where)
    data_nodes = root.findall("Data")
    if not data_nodes:
        raise InvalidSpec(
            f"{where}: channel {name} has no <Data> "
            "(workspaces without data are not supported)"
        )
    data = data_nodes[0]
    data_file = data.attrib.get("InputFile", inputfile)
    data_name = data.attrib.get("HistoName", "")
    if data_file == "" or data_name == "":
        raise InvalidSpec(f"{where}: channel {name}: <Data> names no histogram")
    observed, _ = hists.read(
        data_file, data.attrib.get("HistoPath", histopath), data_name
    )
    samples, configs = [], []
    for node in root.findall("Sample"):
        sample, sample_configs = _sample(node, hists, inputfile, histopath, name, where)
        samples.append(sample)
        configs.extend(sample_configs)
    return {"name": name, "samples": samples}, {"name": name, "data": observed}, configs


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as err:
        raise InvalidSpec(f"{path}: not valid XML ({err})") from None


def _unique_configs(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One config per parameter; one parameter configured two ways is an error."""
    by_name: dict[str, dict[str, Any]] = {}
    for config in configs:
        seen = by_name.setdefault(config["name"], config)
        if seen != config:
            raise InvalidSpec(
                f"incompatible parameter configurations for {config['name']}: "
                f"{seen} and {config}"
            )
    return list(by_name.values())


def _param_name(root_name: str) -> str:
    """The pyhf parameter behind a ROOT parameter name (alpha_X -> X, Lumi -> lumi)."""
    if root_name.startswith("gamma_"):
        raise InvalidSpec(
            "non-scalar parameters (gammas) cannot be set constant, "
            f"such as {root_name}"
        )
    if root_name == "Lumi":
        return "lumi"
    return root_name[len("alpha_") :] if root_name.startswith("alpha_") else root_name


def _measurements(
    top: ET.Element, configs: list[dict[str, Any]], where: str
) -> list[dict[str, Any]]:
    out = []
    for node in top.findall("Measurement"):
        by_name = {c["name"]: dict(c) for c in configs}
        lumi = _float(node, "Lumi", where)
        lumi_error = lumi * _float(node, "LumiRelErr", where)
        name = _attr(node, "Name", where)
        poi = node.find("POI")
        if poi is None:
            raise InvalidSpec(f"{where}: measurement {name} has no <POI>")
        lumi_config = {
            "name": "lumi",
            "auxdata": [lumi],
            "bounds": [[lumi - 5.0 * lumi_error, lumi + 5.0 * lumi_error]],
            "inits": [lumi],
            "sigmas": [lumi_error],
        }
        for setting in node.findall("ParamSetting"):
            update: dict[str, Any] = {}
            if setting.attrib.get("Const"):
                update["fixed"] = setting.attrib["Const"] == "True"
            if setting.attrib.get("Val"):
                update["inits"] = [_float(setting, "Val", where)]
            for root_name in (
                (setting.text or "").strip().split(" ") if setting.text else []
            ):
                param = _param_name(root_name)
                if param == "lumi":
                    lumi_config.update(update)
                    continue
                config = by_name.pop(param, {"name": param})
                config.update(update)
                by_name[param] = config
        out.append(
            {
                "name": name,
                "config": {
                    "poi": poi.text.strip() if poi.text else "",
                    "parameters": [lumi_config, *by_name.values()],
                },
            }
        )
    return out


def read_xml(
    entrypoint: str | Path,
    basedir: str | Path = ".",
    mounts: Iterable[tuple[Path, Path]] = (),
) -> dict[str, Any]:
    """The pyhf workspace of a HistFactory combination (top-level XML file); relative
    paths in the XML are read from ``basedir``, through ``mounts`` (host, in-XML)."""
    top = _parse(Path(entrypoint))
    hists = _Histograms(Path(basedir), mounts)
    try:
        channels, observations, configs = [], [], []
        for node in top.findall("Input"):
            if not node.text:
                continue
            channel, observation, channel_configs = _channel(
                hists.resolve(node.text), hists
            )
            channels.append(channel)
            observations.append(observation)
            configs.extend(channel_configs)
        measurements = _measurements(top, _unique_configs(configs), str(entrypoint))
    finally:
        hists.close()
    return {
        "measurements": measurements,
        "channels": channels,
        "observations": observations,
        "version": "1.0.0",
    }


# ---------------------------------------------------------------- JSON -> XML


def _hist_name(*parts: str, suffix: str = "") -> str:
    return "hist" + "_".join(p for p in parts if p) + suffix


def _ratio(numerators: list[float], denominators: list[float]) -> list[float]:
    """Bin-by-bin ratio, 0 where the denominator is 0 (as pyhf writes them)."""
    return [
        float(n) / float(d) if d != 0 else 0.0
        for n, d in zip(numerators, denominators, strict=False)
    ]


class _Writer:
    def __init__(self, spec: Mapping[str, Any], root_path: Path) -> None:
        self.spec = spec
        self.root_path = root_path
        self.hists: dict[str, list[float]] = {}
        first = (
            spec["measurements"][0]["config"]["parameters"]
            if spec.get("measurements")
            else []
        )
        self.first_measurement_params = {p["name"]: p for p in first}

    def hist(self, name: str, values: Iterable[float]) -> str:
        if name in self.hists:
            raise InvalidSpec(f"two histograms would be written as {name}")
        self.hists[name] = [float(v) for v in values]
        return name

    def modifier(
        self, mod: Mapping[str, Any], channel: str, sample: str, data: list[float]
    ) -> ET.Element | None:
        kind, name = mod["type"], mod["name"]
        if name == "lumi" or kind not in _XML_TAG:
            return None
        attrs = {"Name": name}
        if kind == "histosys":
            attrs["HistoNameLow"] = self.hist(
                _hist_name(channel, sample, name, suffix="Low"), mod["data"]["lo_data"]
            )
            attrs["HistoNameHigh"] = self.hist(
                _hist_name(channel, sample, name, suffix="High"), mod["data"]["hi_data"]
            )
        elif kind == "normsys":
            attrs["High"] = str(mod["data"]["hi"])
            attrs["Low"] = str(mod["data"]["lo"])
        elif kind == "normfactor":
            config = self.first_measurement_params.get(name, {})
            low, high = config.get("bounds", [[0, 10]])[0]
            attrs["Val"] = str(config.get("inits", [1])[0])
            attrs["Low"] = str(low)
            attrs["High"] = str(high)
        elif kind == "staterror":
            del attrs["Name"]
            attrs["Activate"] = "True"
            attrs["HistoName"] = self.hist(
                _hist_name(channel, sample, name), _ratio(mod["data"], data)
            )
        elif kind == "shapesys":
            attrs["ConstraintType"] = "Poisson"
            attrs["HistoName"] = self.hist(
                _hist_name(channel, sample, name), _ratio(mod["data"], data)
            )
        return ET.Element(_XML_TAG[kind], attrs)

    def channel(self, channel: Mapping[str, Any]) -> ET.Element:
        name = channel["name"]
        node = ET.Element("Channel", {"Name": name, "InputFile": str(self.root_path)})
        observed = next(
            (o for o in self.spec.get("observations", []) if o["name"] == name), None
        )
        if observed is not None:
            data_name = self.hist(_hist_name(name, "data"), observed["data"])
            node.append(
                ET.Element(
                    "Data", {"HistoName": data_name, "InputFile": str(self.root_path)}
                )
            )
        for sample in channel["samples"]:
            attrs = {
                "Name": sample["name"],
                "HistoName": _hist_name(name, sample["name"]),
                "InputFile": str(self.root_path),
                "NormalizeByTheory": "False",
            }
            element = ET.Element("Sample", attrs)
            for mod in sample["modifiers"]:
                if mod["type"] == "lumi":
                    element.attrib["NormalizeByTheory"] = "True"
                child = self.modifier(mod, name, sample["name"], sample["data"])
                if child is not None:
                    element.append(child)
            self.hist(attrs["HistoName"], sample["data"])
            node.append(element)
        return node

    def measurement(
        self, measurement: Mapping[str, Any], types: Mapping[str, str]
    ) -> ET.Element:
        config = measurement["config"]
        lumi, lumi_error = 1.0, 0.0
        fixed = []
        for param in config["parameters"]:
            if param.get("fixed", False):
                pname = param["name"]
                fixed.append(
                    "Lumi"
                    if pname == "lumi"
                    else _ROOT_PREFIX.get(types.get(pname, ""), "") + pname
                )
            if param["name"] == "lumi":
                lumi, lumi_error = param["auxdata"][0], param["sigmas"][0]
        node = ET.Element(
            "Measurement",
            {
                "Name": measurement["name"],
                "Lumi": str(lumi),
                "LumiRelErr": str(lumi_error),
                "ExportOnly": "True",
            },
        )
        poi = ET.SubElement(node, "POI")
        poi.text = config["poi"]
        if fixed:
            setting = ET.SubElement(node, "ParamSetting", {"Const": "True"})
            setting.text = " ".join(fixed)
        return node


def _xml_text(element: ET.Element, doctype: str) -> str:
    ET.indent(element, space="  ")
    return f"{doctype}\n\n" + ET.tostring(element, encoding="unicode") + "\n"


def write_xml(
    spec: Mapping[str, Any],
    output_dir: str | Path = ".",
    specroot: str = "config",
    dataroot: str = "data",
    resultprefix: str = "FitConfig",
) -> list[Path]:
    """Write ``spec`` as HistFactory XML (``<output_dir>/<resultprefix>.xml`` and one
    file per channel under ``specroot``) with its histograms in
    ``<dataroot>/data.root`` and the document type the files name,
    ``HistFactorySchema.dtd``, in the parent of ``specroot`` (as pyhf);
    returns the files written. Writes are atomic."""
    import numpy as np

    from . import histfactory_dtd
    from .io import root_file, write_text_atomic

    out = Path(output_dir)
    spec_dir, data_dir = out / specroot, out / dataroot
    spec_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    root_path = data_dir / "data.root"
    writer = _Writer(spec, root_path)
    combination = ET.Element(
        "Combination", {"OutputFilePrefix": str(spec_dir / resultprefix)}
    )
    dtd = spec_dir.parent / histfactory_dtd.FILE_NAME
    write_text_atomic(dtd, histfactory_dtd.DTD)
    written = [dtd]
    for channel in spec["channels"]:
        channel_file = spec_dir / f"{resultprefix}_{channel['name']}.xml"
        element = writer.channel(channel)
        write_text_atomic(
            channel_file,
            _xml_text(element, "<!DOCTYPE Channel SYSTEM '../HistFactorySchema.dtd'>"),
        )
        written.append(channel_file)
        ET.SubElement(combination, "Input").text = str(channel_file)
    types: dict[str, str] = {}
    for channel in spec["channels"]:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                types[mod["name"]] = mod["type"]
    for measurement in spec.get("measurements", []):
        combination.append(writer.measurement(measurement, types))
    with root_file(root_path) as f:
        for name, values in writer.hists.items():
            f[name] = (
                np.asarray(values, dtype=float),
                np.arange(len(values) + 1, dtype=float),
            )
    written.append(root_path)
    top = out / f"{resultprefix}.xml"
    write_text_atomic(
        top,
        _xml_text(
            combination, "<!DOCTYPE Combination  SYSTEM 'HistFactorySchema.dtd'>"
        ),
    )
    written.append(top)
    return written
