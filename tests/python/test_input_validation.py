"""Bad values that are input errors, not failed fits: each is refused before any work
with a message naming the file and the place, through the Python API (a HifitError,
i.e. a ValueError) and through the CLI (one line on stderr, exit 2). Acceptance follows
the reference tool of each format, run here: pyhf for workspaces and patchsets."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
from test_cli_outcomes import hifit as run_cli
from test_cli_outcomes import one_error_line

import hifit
from hifit.exceptions import HifitError

pyhf = pytest.importorskip("pyhf")

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PATCHSET = SHARED / "pyhf" / "pyhf-tests" / "test_patchset" / "example_patchset.json"
LBB_PATCHSET = SHARED / "pyhf" / "atlas-1Lbb-ins1755298" / "patchset.json"


def pyhf_accepts_patchset(spec) -> bool:
    try:
        pyhf.PatchSet(spec)
    except Exception:  # pyhf raises schema, lookup and its own patchset errors
        return False
    return True


def hifit_accepts_patchset(spec) -> bool:
    try:
        hifit.PatchSet(spec, source="ps.json")
    except HifitError as err:
        assert str(err).startswith("ps.json: /"), err
        return False
    return True


def _set(path, value):
    def edit(spec):
        *parents, last = path
        node = spec
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


_DELETE = object()
PATCH0 = ["patches", 0]
PATCHSET_EDITS = {
    "version 2.0.0": _set(["version"], "2.0.0"),
    "version number": _set(["version"], 1.0),
    "no version": _set(["version"], _DELETE),
    "extra top-level key": _set(["extra"], 1),
    "empty patch name": _set([*PATCH0, "metadata", "name"], ""),
    "patch name with '-'": _set([*PATCH0, "metadata", "name"], "a-b"),
    "patch name not a string": _set([*PATCH0, "metadata", "name"], 3),
    "no patch values": _set([*PATCH0, "metadata", "values"], _DELETE),
    "patch value null": _set([*PATCH0, "metadata", "values"], [None]),
    "values count != labels": _set([*PATCH0, "metadata", "values"], [0, 1]),
    "extra patch key": _set([*PATCH0, "extra"], 1),
    "extra patch metadata key": _set([*PATCH0, "metadata", "extra"], 1),
    "empty labels": _set(["metadata", "labels"], []),
    "empty label": _set(["metadata", "labels"], [""]),
    "label with space": _set(["metadata", "labels"], ["a b"]),
    "no labels": _set(["metadata", "labels"], _DELETE),
    "no digests": _set(["metadata", "digests"], _DELETE),
    "empty digests": _set(["metadata", "digests"], {}),
    "short sha256": _set(["metadata", "digests"], {"sha256": "7c32"}),
    "uppercase md5": _set(["metadata", "digests"], {"md5": "A" * 32}),
    "md5": _set(["metadata", "digests"], {"md5": "a" * 32}),
    "unknown digest": _set(["metadata", "digests"], {"sha1": "a" * 40}),
    "no references": _set(["metadata", "references"], _DELETE),
    "empty references": _set(["metadata", "references"], {}),
    "bad hepdata id": _set(["metadata", "references"], {"hepdata": "ins12"}),
    "no description": _set(["metadata", "description"], _DELETE),
    "description not a string": _set(["metadata", "description"], 1),
    "extra metadata key": _set(["metadata", "extra"], 1),
    "no patches": _set(["patches"], []),
    "unknown op": _set([*PATCH0, "patch", 0, "op"], "frobnicate"),
    "replace without value": _set([*PATCH0, "patch", 0, "value"], _DELETE),
    "op without path": _set([*PATCH0, "patch", 0, "path"], _DELETE),
    "move without from": _set([*PATCH0, "patch", 0], {"op": "move", "path": "/a"}),
    "remove": _set([*PATCH0, "patch", 0], {"op": "remove", "path": "/a"}),
    "patch not a list": _set([*PATCH0, "patch"], {}),
}


def test_the_shared_patchsets_are_accepted_by_both():
    for path in (PATCHSET, LBB_PATCHSET):
        spec = json.loads(path.read_text())
        assert pyhf_accepts_patchset(spec)
        assert hifit_accepts_patchset(spec)


@pytest.mark.parametrize("edit", PATCHSET_EDITS, ids=str)
def test_patchsets_are_refused_exactly_when_pyhf_refuses_them(edit):
    spec = json.loads(PATCHSET.read_text())
    PATCHSET_EDITS[edit](spec)
    assert hifit_accepts_patchset(spec) == pyhf_accepts_patchset(spec)


def test_duplicate_patch_values_are_refused_as_pyhf_does():
    spec = json.loads(PATCHSET.read_text())
    twin = copy.deepcopy(spec["patches"][0])
    twin["metadata"]["name"] = "twin"
    spec["patches"].append(twin)
    assert not pyhf_accepts_patchset(spec)
    assert not hifit_accepts_patchset(spec)
    twin["metadata"]["values"] = [1]
    assert pyhf_accepts_patchset(spec)
    assert hifit_accepts_patchset(spec)


# ---- workspace values ----------------------------------------------------------------


def workspace(sig=(5.0, 4.0), bkg=(50.0, 60.0), obs=(55.0, 62.0), bmods=(), params=()):
    signal = [{"name": "mu", "type": "normfactor", "data": None}]
    samples = [
        {"name": "sig", "data": list(sig), "modifiers": signal},
        {"name": "bkg", "data": list(bkg), "modifiers": list(bmods)},
    ]
    return {
        "channels": [{"name": "ch", "samples": samples}],
        "observations": [{"name": "ch", "data": list(obs)}],
        "measurements": [
            {"name": "m", "config": {"poi": "mu", "parameters": list(params)}}
        ],
        "version": "1.0.0",
    }


def normsys(hi, lo):
    return [{"name": "ns", "type": "normsys", "data": {"hi": hi, "lo": lo}}]


def per_bin(kind, values):
    return [{"name": "mod", "type": kind, "data": list(values)}]


LUMI = [{"name": "lumi", "type": "lumi", "data": None}]
NAN, INF = float("nan"), float("inf")


def lumi_config(sigma):
    return [
        {
            "name": "lumi",
            "auxdata": [1.0],
            "sigmas": [sigma],
            "bounds": [[0.5, 1.5]],
            "inits": [1.0],
        }
    ]


# (case, workspace, fragment of hifit's message)
REFUSED = [
    ("observation -3", workspace(obs=(-3.0, 62.0)), 'channel "ch", bin 0: -3'),
    ("observation nan", workspace(obs=(NAN, 62.0)), 'channel "ch", bin 0: nan'),
    ("observation inf", workspace(obs=(INF, 62.0)), 'channel "ch", bin 0: inf'),
    ("negative total", workspace(bkg=(-10.0, 60.0)), "nominal yields sum to -5"),
    ("nominal nan", workspace(bkg=(NAN, 60.0)), 'sample "bkg": data[0] is nan'),
    ("staterror nan", workspace(bmods=per_bin("staterror", (NAN, 4.0))), "is nan"),
    (
        "histosys nan",
        workspace(
            bmods=[
                {
                    "name": "hs",
                    "type": "histosys",
                    "data": {"hi_data": [NAN, 1.0], "lo_data": [1.0, 1.0]},
                }
            ]
        ),
        "hi_data[0]",
    ),
    ("normsys hi 0", workspace(bmods=normsys(0.0, 0.9)), "hi is 0"),
    ("normsys hi < 0", workspace(bmods=normsys(-1.1, 0.9)), "hi is -1.1"),
    ("normsys lo 0", workspace(bmods=normsys(1.1, 0.0)), "lo is 0"),
    ("normsys lo < 0", workspace(bmods=normsys(1.1, -0.9)), "lo is -0.9"),
    ("normsys nan", workspace(bmods=normsys(NAN, 0.9)), "hi is nan"),
    ("lumi sigma 0", workspace(bmods=LUMI, params=lumi_config(0.0)), "sigmas[0] is 0"),
    ("lumi sigma < 0", workspace(bmods=LUMI, params=lumi_config(-0.1)), "sigmas[0]"),
    (
        "shapesys factor 0",
        workspace(
            bmods=per_bin("shapesys", (3.0, 4.0)),
            params=[{"name": "mod", "factors": [0.0, 10.0]}],
        ),
        "factors[0] is 0",
    ),
]
ACCEPTED = [
    (
        "negative sample bin, positive total",
        workspace(sig=(60.0, 4.0), bkg=(-5.0, 60.0)),
    ),
    (
        "negative total where nothing is observed",
        workspace(bkg=(-10.0, 60.0), obs=(0.0, 62.0)),
    ),
    ("staterror < 0", workspace(bmods=per_bin("staterror", (-3.0, 4.0)))),
    ("staterror 0", workspace(bmods=per_bin("staterror", (0.0, 4.0)))),
    ("shapesys < 0", workspace(bmods=per_bin("shapesys", (-3.0, 4.0)))),
    ("shapesys 0", workspace(bmods=per_bin("shapesys", (0.0, 4.0)))),
    ("shapesys nan", workspace(bmods=per_bin("shapesys", (NAN, 4.0)))),
    ("shapesys inf", workspace(bmods=per_bin("shapesys", (INF, 4.0)))),
]


def pyhf_logpdfs(spec):
    """pyhf's log-likelihood at the initial point and with each modifier parameter at
    +-0.5 (where the normsys/histosys interpolation is evaluated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws = pyhf.Workspace(spec)
        model = ws.model()
        data = ws.data(model)
        init = list(model.config.suggested_init())
        points = [init]
        for name in model.config.par_order:
            if name in ("mu", "lumi"):
                continue
            for shift in (-0.5, 0.5):
                point = list(init)
                point[model.config.par_slice(name)] = [
                    v + shift for v in init[model.config.par_slice(name)]
                ]
                points.append(point)
        return [float(model.logpdf(p, data)[0]) for p in points]


@pytest.mark.parametrize(
    ("case", "spec", "fragment"), REFUSED, ids=[c[0] for c in REFUSED]
)
def test_workspace_values_with_an_undefined_pyhf_likelihood_are_refused(
    case, spec, fragment
):
    import math

    assert not all(math.isfinite(v) for v in pyhf_logpdfs(spec)), case
    with pytest.raises(HifitError) as err:
        ws = hifit.Workspace(spec, source="ws.json")
        ws.data(ws.model())
    assert str(err.value).startswith("ws.json: ")
    assert fragment in str(err.value)


def test_a_negative_fractional_observation_is_refused_though_pyhf_evaluates_it():
    # pyhf's Poisson term uses lgamma(n + 1), finite for n = -0.5: a number, not a
    # likelihood. A count cannot be negative.
    import math

    spec = workspace(obs=(-0.5, 62.0))
    assert math.isfinite(pyhf_logpdfs(spec)[0])
    with pytest.raises(HifitError, match=r'^ws\.json: observation for channel "ch"'):
        ws = hifit.Workspace(spec, source="ws.json")
        ws.data(ws.model())


@pytest.mark.parametrize(("case", "spec"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_workspace_values_pyhf_evaluates_are_accepted_with_its_likelihood(case, spec):
    reference = pyhf_logpdfs(spec)[0]
    ws = hifit.Workspace(spec, source="ws.json")
    model = ws.model()
    data = ws.data(model)
    got = model.twice_nll(model.config.suggested_init(), data)
    assert got == pytest.approx(-2.0 * reference, rel=1e-9), case


# ---- the same causes through the CLI: one line naming the file, exit 2 ---------------

COUNTING_CARD = """imax 1
jmax 1
kmax *
bin a
observation 10
bin a a
process sig bkg
process 0 1
rate 2 8
"""


def cli_files(tmp_path):
    """Each bad input as a file; returns {name: path}."""
    patchset = json.loads(PATCHSET.read_text())
    patchset["version"] = "2.0.0"
    out = {
        "name_only.txt": COUNTING_CARD + "lumi\n",
        "extra_value.txt": COUNTING_CARD + "lumi lnN 1.1 1.1 1.1\n",
        "truncated.txt": COUNTING_CARD + "lumi lnN 1.1",
        "param_sigma0.txt": COUNTING_CARD + "x param 0 0\n",
        "patchset.json": json.dumps(patchset),
        "normsys.json": json.dumps(workspace(bmods=normsys(0.0, 0.9))),
        "observation.json": json.dumps(workspace(obs=(-3.0, 62.0))),
        "total.json": json.dumps(workspace(bkg=(-10.0, 60.0))),
        "sigma.json": json.dumps(workspace(bmods=LUMI, params=lumi_config(0.0))),
    }
    for name, text in out.items():
        (tmp_path / name).write_text(text)
    return tmp_path


CLI_CASES = [
    (["fit", "name_only.txt"], "name_only.txt:10: expected a directive type"),
    (["fit", "extra_value.txt"], "extra_value.txt:10: expected 2 values after 'lnN'"),
    (["fit", "truncated.txt"], "truncated.txt:10: expected 2 values after 'lnN'"),
    (["fit", "param_sigma0.txt"], "param_sigma0.txt:10: expected a positive sigma"),
    (
        ["fit", "normsys.json", "--patchset", "patchset.json", "--patch", "x"],
        'patchset.json: /version: expected "1.0.0"',
    ),
    (["fit", "normsys.json"], 'normsys.json: channel "ch", sample "bkg", modifier'),
    (["fit", "observation.json"], 'observation.json: observation for channel "ch"'),
    (["fit", "total.json"], 'total.json: channel "ch", bin 0: the samples\' nominal'),
    (["fit", "sigma.json"], 'sigma.json: measurement "m": parameter "lumi"'),
]


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=[c[1] for c in CLI_CASES])
def test_cli_refuses_with_one_line_and_exit_2(tmp_path, args, fragment):
    folder = cli_files(tmp_path)
    args = [str(folder / a) if (folder / a).exists() else a for a in args]
    line = one_error_line(run_cli(*args), 2)
    assert fragment in line


# ---- models too large for dense matrices -----------------------------------------


def staterror_workspace(bins: int) -> dict:
    spec = workspace(sig=[1.0] * bins, bkg=[10.0] * bins, obs=[11.0] * bins)
    spec["channels"][0]["samples"][1]["modifiers"] = per_bin("staterror", [1.0] * bins)
    return spec


def test_the_100k_staterror_model_is_refused_beyond_the_memory_of_a_fit_in_blocks(
    tmp_path, monkeypatch
):
    # 100 001 parameters: a dense Hessian would be 80 GB; the model is fitted in
    # blocks instead (tests/python/test_bad_input_table.py fits it), in memory linear
    # in the bins. Where even that exceeds the limit, refused from the sizes alone.
    bins = 100_000
    path = tmp_path / "big.json"
    path.write_text(json.dumps(staterror_workspace(bins)))
    monkeypatch.setenv("HIFIT_MEMORY_LIMIT", str(100e6))
    line = one_error_line(run_cli("fit", path), 2)
    assert line.startswith(f"hifit: error: {path}: the model has 100001 parameters")
    assert "(100000 per-bin) and 100000 bins; a fit in blocks needs about" in line
    assert "more than the limit HIFIT_MEMORY_LIMIT (0.1 GB)" in line


def test_a_lowered_memory_limit_refuses_a_small_model(tmp_path, monkeypatch):
    # HIFIT_MEMORY_LIMIT (bytes) stands in for the machine's memory.
    bins = 200
    spec = staterror_workspace(bins)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(spec))
    jacobian, hessian = bins * (bins + 1) * 8, (bins + 1) ** 2 * 8
    monkeypatch.setenv("HIFIT_MEMORY_LIMIT", str(jacobian + hessian))
    line = one_error_line(run_cli("fit", path), 2)
    assert f"{path}: the model has 201 parameters and 200 bins" in line
    assert "more than the limit HIFIT_MEMORY_LIMIT" in line
    ws = hifit.Workspace(spec, source="model.json")
    model = ws.model()
    data = ws.data(model)
    with pytest.raises(HifitError, match="a fit needs a dense 201x201 Hessian"):
        hifit.infer.fit(data, model)
    monkeypatch.setenv("HIFIT_MEMORY_LIMIT", str(jacobian / 2))
    with pytest.raises(
        HifitError, match="its likelihood needs a dense 200x201 Jacobian"
    ):
        model.twice_nll(model.config.suggested_init(), data)
    monkeypatch.delenv("HIFIT_MEMORY_LIMIT")
    assert hifit.infer.fit(data, model).valid
