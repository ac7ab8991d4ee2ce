"""Templates filled in parallel (hifit.cabinetry.templates_fill) are the serial ones.

* The work units (file × entry range) and the order their partial histograms are
  added depend only on the inputs and ``step_size``: one thread, two threads and a
  LocalCluster of 2 worker processes give bit-identical templates.
* Against one fill over all events (cabinetry 0.6.0's ``templates.build``, run here)
  only the order of the additions differs: unweighted counts (data) are equal
  exactly, weighted sums and their variances to 1e-12 relative.
* Many files: the tutorial ntuples split into several files (a glob) give the
  templates of the single file.
* Inputs are checked before any filling: a missing file for the last template
  leaves no template written.
* `hifit templates` and `hifit run` take --jobs, --dask local:N and --scheduler.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import numpy as np
import pytest
import uproot
import yaml

import hifit.cabinetry.templates
from hifit.cabinetry import templates_fill
from hifit.executor import get_executor

cabinetry = pytest.importorskip("cabinetry")
pytest.importorskip("distributed")

TUTORIALS = (
    pathlib.Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "cabinetry"
    / "tutorials"
)
INPUTS = TUTORIALS / "inputs"
RTOL = 1e-12
STEP = 700  # the tutorial trees have 5000 entries: 8 units per file and tree

pytestmark = pytest.mark.skipif(not INPUTS.is_dir(), reason="shared data missing")


def tutorial_config(folder: pathlib.Path, input_path: str | None = None) -> dict:
    config = yaml.safe_load((TUTORIALS / "config_ntuples.yml").read_text())
    config["General"]["InputPath"] = input_path or f"{INPUTS}/{{SamplePath}}"
    config["General"]["HistogramFolder"] = str(folder)
    return config


def in_folder(config: dict[str, Any], folder: pathlib.Path) -> dict[str, Any]:
    config = copy.deepcopy(config)
    config["General"]["HistogramFolder"] = str(folder)
    return config


def templates_in(folder: pathlib.Path) -> dict[str, dict[str, np.ndarray]]:
    found = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as content:
            found[path.stem] = {key: content[key] for key in content.files}
    assert found, f"no templates in {folder}"
    return found


def assert_identical(got: pathlib.Path, expected: pathlib.Path) -> None:
    ours, theirs = templates_in(got), templates_in(expected)
    assert ours.keys() == theirs.keys()
    for name, fields in theirs.items():
        for key, values in fields.items():
            np.testing.assert_array_equal(ours[name][key], values, err_msg=name)


def assert_close(got: pathlib.Path, expected: pathlib.Path, data: set[str]) -> int:
    """Equal within RTOL, exactly for the unweighted ``data`` templates; returns how
    many weighted values differ in the last bits at all (for the record)."""
    ours, theirs = templates_in(got), templates_in(expected)
    assert ours.keys() == theirs.keys()
    differing = 0
    for name, fields in theirs.items():
        for key, values in fields.items():
            if name in data or key == "bins":
                np.testing.assert_array_equal(ours[name][key], values, err_msg=name)
            else:
                np.testing.assert_allclose(
                    ours[name][key], values, rtol=RTOL, atol=0, err_msg=name
                )
                differing += int(np.sum(ours[name][key] != values))
    return differing


@pytest.fixture(scope="module")
def dask_client() -> Any:
    """A client of a LocalCluster of 2 worker processes (once for the module; any
    free port, so that it never collides with other clusters on the machine)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def local_cluster(dask_client: Any) -> Any:
    return get_executor(client=dask_client)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from hifit.cabinetry import configuration
    from hifit.examples.demo import generate

    config = configuration.load(generate(tmp_path_factory.mktemp("demo")))
    return config


def build(config: dict[str, Any], folder: pathlib.Path, **options: Any) -> None:
    hifit.cabinetry.templates.build(in_folder(config, folder), **options)


def test_threads_and_processes_match_one_thread_exactly(
    tmp_path: pathlib.Path, demo: dict[str, Any], local_cluster: Any
) -> None:
    step = 7_000  # 40000 events per tree: 6 units per tree
    build(demo, tmp_path / "serial", jobs=1, step_size=step)
    build(demo, tmp_path / "threads", jobs=2, step_size=step)
    build(demo, tmp_path / "cluster", executor=local_cluster, step_size=step)
    assert_identical(tmp_path / "threads", tmp_path / "serial")
    assert_identical(tmp_path / "cluster", tmp_path / "serial")
    # and cabinetry's single fill, to the summation order
    (tmp_path / "cabinetry").mkdir()
    cabinetry.templates.build(in_folder(demo, tmp_path / "cabinetry" / "h"))
    assert_close(
        tmp_path / "serial", tmp_path / "cabinetry" / "h", {"SR_Data", "CR_Data"}
    )


def test_enclosing_executor_is_used(tmp_path: pathlib.Path, local_cluster: Any) -> None:
    from hifit.executor import using

    config = tutorial_config(tmp_path)
    calls: list[int] = []
    original = local_cluster.map

    def counting_map(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp, using(local_cluster):
        mp.setattr(local_cluster, "map", counting_map)
        build(config, tmp_path / "cluster", step_size=STEP)
    assert len(calls) == 2  # the probes, then the fills
    build(config, tmp_path / "threads", jobs=2, step_size=STEP)
    assert_identical(tmp_path / "cluster", tmp_path / "threads")


def test_tutorial_units_match_cabinetry(
    tmp_path: pathlib.Path, local_cluster: Any
) -> None:
    config = tutorial_config(tmp_path)
    (tmp_path / "cabinetry").mkdir()
    cabinetry.templates.build(in_folder(config, tmp_path / "cabinetry" / "h"))
    build(config, tmp_path / "units", jobs=2, step_size=STEP)
    build(config, tmp_path / "cluster", executor=local_cluster, step_size=STEP)
    build(config, tmp_path / "whole")  # one unit per file: cabinetry's fill
    data = {"Signal_region_Data"}
    assert_identical(tmp_path / "whole", tmp_path / "cabinetry" / "h")
    assert_close(tmp_path / "units", tmp_path / "cabinetry" / "h", data)
    assert_identical(tmp_path / "cluster", tmp_path / "units")


def split_tutorial_ntuples(folder: pathlib.Path, parts: int) -> None:
    """data.root and prediction.root as ``parts`` files each, entries in order."""
    folder.mkdir()
    for name in ("data", "prediction"):
        with uproot.open(INPUTS / f"{name}.root") as source:
            trees = {
                key.split(";")[0]: source[key].arrays(library="np")
                for key in source.keys()
            }
        for part in range(parts):
            with uproot.recreate(folder / f"{name}_{part}.root") as out:
                for tree, branches in trees.items():
                    n = len(next(iter(branches.values())))
                    lo, hi = part * n // parts, (part + 1) * n // parts
                    out.mktree(tree, {k: v.dtype for k, v in branches.items()})
                    out[tree].extend({k: v[lo:hi] for k, v in branches.items()})


def test_many_files_give_the_single_file_templates(tmp_path: pathlib.Path) -> None:
    split_tutorial_ntuples(tmp_path / "parts", parts=5)
    single = tutorial_config(tmp_path / "single")
    split = tutorial_config(tmp_path / "split", f"{tmp_path}/parts/{{SamplePath}}")
    for sample in split["Samples"]:
        sample["SamplePath"] = sample["SamplePath"].replace(".root", "_*.root")
    for systematic in split["Systematics"]:
        if "SamplePath" in systematic.get("Up", {}):
            systematic["Up"]["SamplePath"] = "prediction_*.root"
    fills: list[templates_fill.Fill] = []
    original = templates_fill.fill

    def spy(specs: Any, *args: Any, **kwargs: Any) -> Any:
        fills.extend(specs)
        return original(specs, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(templates_fill, "fill", spy)
        hifit.cabinetry.templates.build(split, jobs=2, step_size=STEP)
    units = templates_fill.plan(fills, STEP)
    assert len({u.path for u in units}) == 10  # every part file is read
    hifit.cabinetry.templates.build(single, jobs=2)
    assert_close(tmp_path / "split", tmp_path / "single", {"Signal_region_Data"})


def test_inputs_are_checked_before_any_filling(tmp_path: pathlib.Path) -> None:
    config = tutorial_config(tmp_path / "h")
    config["Systematics"][1]["Up"]["SamplePath"] = "missing.root"  # a late template
    with pytest.raises(FileNotFoundError, match="Modeling_Up: no file .*missing"):
        hifit.cabinetry.templates.build(config, jobs=2)
    assert not (tmp_path / "h").exists() and not (tmp_path / "out").exists()


def test_worker_errors_name_the_file(
    tmp_path: pathlib.Path, local_cluster: Any
) -> None:
    """Files are opened on the workers: their errors arrive as the serial ones."""
    config = tutorial_config(tmp_path / "h")
    config["Samples"][1]["Tree"] = "no_tree"
    pattern = r"no tree 'no_tree' in .*inputs/prediction\.root \(available: signal"
    with pytest.raises(templates_fill.TemplateInputError, match=pattern):
        hifit.cabinetry.templates.build(config, executor=local_cluster)
    assert not (tmp_path / "h").exists()


def test_step_size_must_be_positive(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="step_size must be at least 1"):
        hifit.cabinetry.templates.build(tutorial_config(tmp_path), step_size=0)


def test_cli_options(tmp_path: pathlib.Path, dask_client: Any) -> None:
    from click.testing import CliRunner

    from hifit.cli import cli

    config = tutorial_config(tmp_path / "threads")
    path = tmp_path / "config.yml"
    address = dask_client.scheduler.address
    for folder, options in (
        ("threads", ["--jobs", "2"]),
        ("cluster", ["--scheduler", address]),
    ):
        path.write_text(yaml.safe_dump(in_folder(config, tmp_path / folder)))
        result = CliRunner().invoke(cli, ["templates", str(path), *options])
        assert result.exit_code == 0, result.output
    reference = in_folder(config, tmp_path / "cabinetry" / "h")
    (tmp_path / "cabinetry").mkdir()
    cabinetry.templates.build(reference)
    cabinetry.templates.postprocess(reference)
    assert_identical(tmp_path / "threads", tmp_path / "cabinetry" / "h")
    assert_identical(tmp_path / "cluster", tmp_path / "cabinetry" / "h")


@pytest.mark.parametrize("command", ["templates", "run"])
def test_cli_bad_dask_value_is_bad_input(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    from hifit.cli import main

    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(tutorial_config(tmp_path / "h")))
    output = ["-o", str(tmp_path / "out")] if command == "run" else []
    with pytest.raises(SystemExit) as exit_info:
        main([command, str(path), *output, "--dask", "four"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "local:N" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "h").exists() and not (tmp_path / "out").exists()
