"""One result document per kind: what the CLI writes with -o is what `hifit run`
writes, and hifit.visualize draws it."""

import json

import matplotlib
import numpy as np
import pytest
from test_cli_outcomes import DATA, SIMPLE
from test_cli_outcomes import hifit as run_hifit

from hifit import results
from hifit.cabinetry import visualize
from hifit.cabinetry.fit.results_containers import from_document

matplotlib.use("Agg")

EXAMPLE = DATA / "pyhf-tests" / "test_patchset"


def hifit(*args):
    proc = run_hifit(*args)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def cli_documents(tmp_path_factory):
    out = tmp_path_factory.mktemp("documents")
    hifit("fit", SIMPLE, "-o", out / "fit.json")
    hifit("cls", SIMPLE, "-o", out / "hypotest.json")
    hifit("limit", SIMPLE, "-o", out / "limit.json")
    hifit("significance", SIMPLE, "-o", out / "significance.json")
    hifit("scan", SIMPLE, "--range", "0:2:5", "-o", out / "scan.json")
    hifit("ranking", EXAMPLE / "example_bkgonly.json", "-o", out / "ranking.json")
    hifit(
        "cls",
        EXAMPLE / "example_bkgonly.json",
        "--patchset",
        EXAMPLE / "example_patchset.json",
        "-o",
        out / "grid.json",
    )
    return out


@pytest.mark.parametrize("kind", results.KINDS)
def test_every_command_writes_its_kind(cli_documents, kind):
    doc = results.load(cli_documents / f"{kind}.json", kind)
    assert doc["schema"] == f"hifit.{kind}"
    assert doc["version"] == results.SCHEMA_VERSION


def test_documents_are_the_to_dict_of_the_python_results(cli_documents):
    import hifit

    ws = hifit.Workspace.load(SIMPLE)
    model = ws.model()
    fitted = hifit.infer.fit(ws.data(model), model).to_dict()
    written = results.load(cli_documents / "fit.json", "fit")
    assert set(fitted) <= set(written)  # the CLI adds only extras (minos, ...)
    for a, b in zip(fitted["parameters"], written["parameters"], strict=True):
        assert a["name"] == b["name"]
        assert a["value"] == pytest.approx(b["value"], rel=1e-12)


@pytest.mark.parametrize(
    ("kind", "draw"),
    [
        ("fit", visualize.pulls),
        ("fit", visualize.correlation_matrix),
        ("ranking", visualize.ranking),
        ("scan", visualize.scan),
        ("limit", visualize.limit),
    ],
)
def test_visualize_draws_a_file_of_the_cli(cli_documents, tmp_path, kind, draw):
    path = cli_documents / f"{kind}.json"
    fig = draw(path, figure_folder=tmp_path, close_figure=True)
    assert fig is not None and list(tmp_path.glob("*.pdf"))


def test_containers_carry_the_document_numbers(cli_documents):
    doc = results.load(cli_documents / "ranking.json")
    ranking = from_document(doc)
    assert ranking.labels == [p["name"] for p in doc["parameters"]]
    assert np.array_equal(
        ranking.postfit_up, [p["postfit_up"] for p in doc["parameters"]]
    )
    lim = from_document(cli_documents / "limit.json")
    limit_doc = json.loads((cli_documents / "limit.json").read_text())
    assert lim.observed_limit == limit_doc["observed"]
    assert lim.confidence_level == pytest.approx(1 - limit_doc["level"])
    assert len(lim.poi_values) == len(limit_doc["scan"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "cannot read a result document"),
        ('{"a": 1}', "not a hifit result document"),
        ('{"schema": "hifit.fit", "version": 99}', "version 99"),
        ('{"schema": "hifit.scan", "version": 1}', "a scan result, expected a fit"),
    ],
)
def test_wrong_documents_are_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(results.InvalidResult, match=message) as err:
        results.load(path, "fit")
    assert str(path) in str(err.value)


def test_outputs_get_umask_permissions_and_keep_an_existing_mode(tmp_path):
    import os

    from hifit.io import write_text_atomic

    path = tmp_path / "out.txt"
    write_text_atomic(path, "a")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    write_text_atomic(path, "b")
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_text() == "b"
