"""Record the real CMS Combine's results for `hifit combine` parity tests (issue 14).

Not a test: run by hand, never in CI. It needs the real Combine built by
`../shared/tools/build_combine.sh` (PyROOT from the ROOT wheel, `combine`,
`text2workspace.py`):

    source /tmp/combine/env.sh
    python tests/python/references/record_combine_methods.py SECTION [SECTION ...]

Sections: FitDiagnostics GoodnessOfFit HybridNew ChannelCompatibilityCheck Impacts
MultiDimFit. Each section updates its key of combine_methods.json (next to this script)
and leaves the others.
Every command runs in a scratch directory holding `ci/` and `tutorials/` links to
`../shared/data/combine`, so the recorded commands name the cards as
combine_real_runs.json does.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ROOT

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2] / ".." / "shared" / "data" / "combine"
OUT_JSON = HERE / "combine_methods.json"
OUT_FILES = HERE / "combine_outputs"
SCRATCH = Path(os.environ.get("RECORD_SCRATCH", "/tmp/h7runs"))
REAL_RUNS = json.loads((DATA / "references" / "combine_real_runs.json").read_text())[
    "cards"
]
CARDS = {
    card: rec["mass"]
    for card, rec in REAL_RUNS.items()
    if "mdf" in rec.get("commands", {})
}
MAX_KEPT_BYTES = 2_000_000
# RECORD_ONLY=card1,card2 reruns a section on those cards only, merged into the JSON
# (add `ci-test` for the Combine CI command of HybridNew / ChannelCompatibilityCheck).
ONLY = [c for c in os.environ.get("RECORD_ONLY", "").split(",") if c]


def selected(cards):
    return [c for c in cards if not ONLY or c in ONLY]


ROOT.gROOT.SetBatch(True)
ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)


# ---------------------------------------------------------------- running commands
def slug(card: str) -> str:
    return card.replace("/", "__").removesuffix(".txt")


def run_dir(card: str) -> Path:
    d = SCRATCH / slug(card)
    d.mkdir(parents=True, exist_ok=True)
    for sub in ("ci", "tutorials"):
        link = d / sub
        if not link.exists():
            link.symlink_to((DATA / sub).resolve())
    return d


def run(cmd: str, cwd: Path, log_name: str | None = None, timeout: float = 900) -> dict:
    """Run one command: wall and CPU seconds, exit code, stdout (+stderr in the log)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            shlex.split(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        proc = subprocess.CompletedProcess(cmd, -9, out, f"timed out after {timeout} s")
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if log_name:
        (cwd / log_name).write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    return {
        "command": cmd,
        "returncode": proc.returncode,
        "time": round(wall, 3),
        "cpu": round(cpu, 3),
        "load1": round(load, 2),
        "stdout": proc.stdout,
        "stderr": proc.stderr,
    }


def meta(res: dict) -> dict:
    """The fields of a run kept in the JSON (its output stays in the scratch logs)."""
    out = {k: res[k] for k in ("command", "time", "cpu", "load1")}
    if res["returncode"] != 0:
        out["returncode"] = res["returncode"]
        out["error"] = (res["stdout"] + res["stderr"])[-1500:]
    return out


_workspaces: dict[tuple[str, str], dict] = {}


def workspace(card: str, extra: str = "", out: str = "ws.root") -> dict:
    """text2workspace.py once per (card, options); returns its run record."""
    key = (card, extra + out)
    if key not in _workspaces:
        cwd = run_dir(card)
        cached = (
            cwd / f"t2w_{out}.json"
        )  # one text2workspace per card across section runs
        if cached.exists() and (cwd / out).exists():
            _workspaces[key] = json.loads(cached.read_text())
        else:
            cmd = f"text2workspace.py {card} -m {fmt_mass(CARDS[card])} -o {out}"
            if extra:
                cmd += " " + extra
            _workspaces[key] = meta(run(cmd, cwd, f"t2w_{out}.log"))
            cached.write_text(json.dumps(_workspaces[key]))
    return _workspaces[key]


def fmt_mass(m: float) -> str:
    return f"{m:g}"


def output(cwd: Path, name: str, method: str, mass: str) -> Path:
    """higgsCombine<name>.<method>.mH<mass>[.<seed>].root (seed: for toys or -s)."""
    found = sorted(cwd.glob(f"higgsCombine{name}.{method}.mH{mass}.*root"))
    return found[0] if found else cwd / f"higgsCombine{name}.{method}.mH{mass}.root"


def limit_rows(path: Path, branches: list[str] | None = None) -> list[dict]:
    """Rows of the `limit` TTree of a higgsCombine file."""
    if not path.exists():
        return []
    f = ROOT.TFile.Open(str(path))
    if not f or f.IsZombie():
        return []
    t = f.Get("limit")
    if not t:
        return []
    names = [b.GetName() for b in t.GetListOfBranches()]
    keep = branches if branches is not None else names
    rows = []
    for entry in t:
        rows.append({b: float(getattr(entry, b)) for b in keep if b in names})
    f.Close()
    return rows


def finite(x):
    """JSON never holds NaN/inf: those become null."""
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return None
    return x


def clean(obj):
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean(v) for v in obj]
    return finite(obj)


# ---------------------------------------------------------------- the JSON file
def load() -> dict:
    if OUT_JSON.exists():
        return json.loads(OUT_JSON.read_text())
    return {}


def save(section: str, content: dict, partial: bool = False) -> None:
    """Write one section; `partial` merges its cards into what the JSON already has."""
    with open(SCRATCH / "combine_methods.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # sections may run in parallel processes
        _save_locked(section, content, partial)


def _save_locked(section: str, content: dict, partial: bool) -> None:
    doc = load()
    doc["about"] = about()
    if (ONLY or partial) and section in doc:
        merge_cards(doc[section], clean(content))
    else:
        doc[section] = clean(content)
    tmp = OUT_JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    tmp.replace(OUT_JSON)
    print(f"saved {section} into {OUT_JSON}", flush=True)


def merge_cards(old: dict, new: dict) -> None:
    """RECORD_ONLY reruns: replace the rerun cards' records, keep every other card's."""
    for key, value in new.items():
        if key == "cards" and isinstance(old.get(key), dict):
            old[key].update(value)
        elif (
            isinstance(value, dict)
            and "cards" in value
            and isinstance(old.get(key), dict)
        ):
            merge_cards(old[key], value)
        else:
            old[key] = value


def about() -> dict:
    commit = Path("/tmp/combine/combine_commit.txt")
    return {
        "what": (
            "Real CMS Combine results for the `hifit combine` parity tests (issue 14), "
            "recorded by "
            "record_combine_methods.py next to this file. One key per method; each "
            "holds `about` "
            "(what was run and how to read the records) and `cards` keyed by the card "
            "path relative "
            "to ../shared/data/combine (as in combine_real_runs.json). Every record "
            "has the exact "
            "`command` (run in a scratch directory where ci/ and tutorials/ are that "
            "folder; "
            "`ws.root` comes from the `text2workspace` record of the same card), "
            "`time` (wall s), "
            "`cpu` (user+sys s of the child), `load1` (1-min load average when it "
            "started: the "
            "machine is a shared, loaded 2-core box, so times are indicative). A "
            "failed command "
            "keeps `returncode` and the tail of its output in `error`. NaN/inf are "
            "stored as null."
        ),
        "layout": {
            "FitDiagnostics": "cards.<card>: r, r_*err, fit_status_s/_b, fit_s/fit_b, "
            "nuisances_prefit, norm_prefit/_fit_s/_fit_b, shapes_prefit/_fit_s/_fit_b",
            "GoodnessOfFit": "cards.<card>: observed.statistic [+ toys/toys_frequentist"
            ".statistics]",
            "HybridNew": "cards.<card>: single_point (CLs, CLs_err, "
            "hypo_test_results), limit, expected_median",
            "ChannelCompatibilityCheck": "cards.<card>: nominal, channels, chi2, fits",
            "Impacts": "cards.<card>: impacts (= combineTool's impacts.json), runs",
            "MultiDimFit": "grid/fixed/variants.cards.<card> and two_poi.cards.<card>"
            ".<model>.runs.<name>: rows of the limit tree (+ summary)",
            "text2workspace": "every card record (or model) has its text2workspace run",
        },
        "combine_commit": commit.read_text().strip() if commit.exists() else None,
        "combine_version": "v10.6.0 (CMake project 10.2.1)",
        "root_version": ROOT.gROOT.GetVersion(),
        "build": "../shared/tools/build_combine.sh (ROOT from the PyPI wheel "
        "root==0.1a12, "
        "RooRealVar::enableSilentClipping patch), Debian 12, gcc 12",
        "combine_harvester_commit": (
            "ee93053005a0b19c51e9cca045f50fc3d1f64b87 (Impacts.py, utils.py)"
        ),
    }


# ---------------------------------------------------------------- readers
def fit_result(rfr) -> dict:
    """A RooFitResult: status, covQual, minNll, edm and every floating parameter."""
    pars = {}
    for p in rfr.floatParsFinal():
        rec = {"value": p.getVal(), "error": p.getError()}
        if p.hasAsymError():
            rec["error_lo"] = p.getAsymErrorLo()
            rec["error_hi"] = p.getAsymErrorHi()
        pars[p.GetName()] = rec
    status_history = [
        [rfr.statusLabelHistory(i), rfr.statusCodeHistory(i)]
        for i in range(rfr.numStatusHistory())
    ]
    out = {
        "status": rfr.status(),
        "covQual": rfr.covQual(),
        "minNll": rfr.minNll(),
        "edm": rfr.edm(),
        "status_history": status_history,
        "parameters": pars,
    }
    names = list(pars)
    if "r" in pars:
        out["correlation_with_r"] = {n: rfr.correlation("r", n) for n in names}
    if len(names) <= 40:
        out["parameter_order"] = names
        out["covariance"] = [
            [rfr.covarianceMatrix()[i][j] for j in range(len(names))]
            for i in range(len(names))
        ]
    return out


def arg_set(f, name: str) -> dict:
    s = f.Get(name)
    if not s:
        return {}
    out = {}
    for v in s:
        rec = {"value": v.getVal()}
        if hasattr(v, "getError"):
            rec["error"] = v.getError()
        out[v.GetName()] = rec
    return out


def tree_row(f, name: str) -> dict:
    t = f.Get(name)
    if not t or t.GetEntries() < 1:
        return {}
    t.GetEntry(0)
    return {b.GetName(): float(getattr(t, b.GetName())) for b in t.GetListOfBranches()}


def hist_record(h) -> dict:
    n = h.GetNbinsX()
    ax = h.GetXaxis()
    return {
        "edges": [ax.GetBinLowEdge(i) for i in range(1, n + 2)],
        "values": [h.GetBinContent(i) for i in range(1, n + 1)],
        "errors": [h.GetBinError(i) for i in range(1, n + 1)],
    }


def graph_record(g) -> dict:
    n = g.GetN()
    return {
        "x": [g.GetPointX(i) for i in range(n)],
        "y": [g.GetPointY(i) for i in range(n)],
        "error_lo": [g.GetErrorYlow(i) for i in range(n)],
        "error_hi": [g.GetErrorYhigh(i) for i in range(n)],
    }


def shapes(f, dirname: str) -> dict:
    d = f.Get(dirname)
    if not d:
        return {}
    out = {}
    for chkey in d.GetListOfKeys():
        ch = chkey.ReadObj()
        if not ch.InheritsFrom("TDirectory"):
            continue
        rec = {}
        for key in ch.GetListOfKeys():
            obj = key.ReadObj()
            if obj.InheritsFrom("TH2"):
                continue  # total_covar: kept only in the ROOT files
            if obj.InheritsFrom("TH1"):
                rec[key.GetName()] = hist_record(obj)
            elif obj.InheritsFrom("TGraphAsymmErrors"):
                rec[key.GetName()] = graph_record(obj)
        out[chkey.GetName()] = rec
    return out


def keep_files(card: str, cwd: Path, names: list[str]) -> list[str]:
    """Copy small outputs under combine_outputs/<card slug>/; returns the kept paths."""
    kept = []
    dest = OUT_FILES / slug(card)
    for name in names:
        src = cwd / name
        if src.exists() and src.stat().st_size <= MAX_KEPT_BYTES:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
            kept.append(str((dest / name).relative_to(HERE)))
    return kept


# ---------------------------------------------------------------- FitDiagnostics
FD_TIMEOUT = 180
FD_KEEP = {
    "tutorials/CAT23001/datacard-2-template-analysis.txt",
    "tutorials/counting/realistic-multi-channel.txt",
    "ci/template-analysis_shape_autoMCStats.txt",
}


def section_fit_diagnostics() -> dict:
    cards = {}
    for card in selected(CARDS):
        mass = CARDS[card]
        t2w = workspace(card)
        cwd = run_dir(card)
        cmd = (
            f"combine ws.root -m {fmt_mass(mass)} -n .fd -M FitDiagnostics "
            "--saveShapes --saveWithUncertainties --saveNormalizations"
        )
        res = run(cmd, cwd, "fd.log", timeout=FD_TIMEOUT)
        rec = {"text2workspace": t2w, **meta(res)}
        if res["returncode"] != 0:
            # --saveWithUncertainties samples the covariance 200 times per channel: on
            # the big template cards that took minutes here; record without it instead.
            cmd = cmd.replace(" --saveWithUncertainties", "")
            res = run(cmd, cwd, "fd.log", timeout=FD_TIMEOUT)
            rec = {"text2workspace": t2w, **meta(res), "first_attempt": rec}
        path = cwd / "fitDiagnostics.fd.root"
        if res["returncode"] == 0 and path.exists():
            f = ROOT.TFile.Open(str(path))
            sb = tree_row(f, "tree_fit_sb")
            b = tree_row(f, "tree_fit_b")
            rec["r"] = sb.get("r")
            rec["r_err"] = sb.get("rErr")
            rec["r_lo_err"] = sb.get("rLoErr")
            rec["r_hi_err"] = sb.get("rHiErr")
            rec["fit_status_s"] = sb.get("fit_status")
            rec["fit_status_b"] = b.get("fit_status")
            rec["nll_min_s"] = sb.get("nll_min")
            rec["nll_min_b"] = b.get("nll_min")
            rec["nll_nll0_s"] = sb.get("nll_nll0")
            rec["tree_fit_sb"] = sb
            rec["tree_fit_b"] = b
            fs, fb = f.Get("fit_s"), f.Get("fit_b")
            rec["fit_s"] = fit_result(fs) if fs else None
            rec["fit_b"] = fit_result(fb) if fb else None
            rec["nuisances_prefit"] = arg_set(f, "nuisances_prefit")
            rec["norm_prefit"] = arg_set(f, "norm_prefit")
            rec["norm_fit_s"] = arg_set(f, "norm_fit_s")
            rec["norm_fit_b"] = arg_set(f, "norm_fit_b")
            rec["shapes_prefit"] = shapes(f, "shapes_prefit")
            rec["shapes_fit_s"] = shapes(f, "shapes_fit_s")
            rec["shapes_fit_b"] = shapes(f, "shapes_fit_b")
            f.Close()
            rec["stdout_result"] = [
                ln for ln in res["stdout"].splitlines() if "Best fit" in ln
            ]
            if card in FD_KEEP:
                rec["kept_files"] = keep_files(
                    card,
                    cwd,
                    [
                        "fitDiagnostics.fd.root",
                        f"higgsCombine.fd.FitDiagnostics.mH{fmt_mass(mass)}.root",
                        "fd.log",
                    ],
                )
        cards[card] = rec
        print(card, rec.get("r"), rec.get("fit_status_s"), rec["time"], flush=True)
    return {
        "about": (
            "FitDiagnostics with --saveShapes --saveWithUncertainties "
            "--saveNormalizations on every card. "
            "r, r_err/r_lo_err/r_hi_err, fit_status_s/_b, nll_min_s/_b from "
            "tree_fit_sb/tree_fit_b (all "
            "branches also kept as tree_fit_sb/tree_fit_b: post-fit values of every "
            "nuisance and its _In "
            "global observable). fit_s/fit_b: the RooFitResults (status, covQual, "
            "minNll, edm, per "
            "floating parameter value/error [+error_lo/error_hi when MINOS ran], "
            "correlation_with_r, and "
            "the covariance in parameter_order when <= 40 parameters). "
            "nuisances_prefit, norm_prefit, "
            "norm_fit_s, norm_fit_b: RooArgSets as {name: {value, error}} (norms named "
            "'channel/process'). "
            "shapes_*: per channel every TH1 (edges, values, errors; total_covar TH2 "
            "skipped) and the "
            "data TGraphAsymmErrors (x, y, error_lo, error_hi). When the run with "
            "--saveWithUncertainties exceeded 180 s it was killed (kept as "
            "first_attempt) and the "
            "record is the same command without --saveWithUncertainties (see command). "
            "kept_files: the ROOT outputs and log copied "
            "under combine_outputs/ (paths relative to this JSON)."
        ),
        "cards": cards,
    }


# ---------------------------------------------------------------- GoodnessOfFit
GOF_TOY_CARDS = [
    "tutorials/CAT23001/datacard-2-template-analysis.txt",
    "tutorials/shapes/simple-shapes-TH1.txt",
    "tutorials/counting/realistic-multi-channel.txt",
    "ci/template-analysis_shape_autoMCStats.txt",
]


def section_goodness_of_fit() -> dict:
    cards = {}
    for card in selected(CARDS):
        mass = CARDS[card]
        t2w = workspace(card)
        cwd = run_dir(card)
        m = fmt_mass(mass)
        res = run(
            f"combine ws.root -m {m} -n .gof -M GoodnessOfFit --algo saturated",
            cwd,
            "gof.log",
        )
        rows = limit_rows(output(cwd, ".gof", "GoodnessOfFit", m))
        rec = {
            "text2workspace": t2w,
            "observed": {**meta(res), "statistic": rows[0]["limit"] if rows else None},
        }
        if card in GOF_TOY_CARDS:
            for key, extra in (
                ("toys", ""),
                ("toys_frequentist", " --toysFrequentist"),
            ):
                name = ".gof_" + key
                res = run(
                    f"combine ws.root -m {m} -n {name} -M GoodnessOfFit --algo "
                    f"saturated -t 100 -s 1{extra}",
                    cwd,
                    f"gof_{key}.log",
                )
                rows = limit_rows(output(cwd, f"{name}", "GoodnessOfFit", m))
                rec[key] = {
                    **meta(res),
                    "statistics": [r["limit"] for r in rows],
                    "iToy": [int(r["iToy"]) for r in rows],
                }
        cards[card] = rec
        print(
            card, rec["observed"].get("statistic"), rec["observed"]["time"], flush=True
        )
    return {
        "about": (
            "GoodnessOfFit --algo saturated. observed.statistic: the `limit` branch of "
            "the data run (on "
            "every card). On a few cards also -t 100 -s 1 (toys: generated with "
            "nuisances randomised from "
            "their pre-fit constraints, Combine's default) and the same with "
            "--toysFrequentist (toys "
            "from the post-fit nuisance values, global observables randomised): "
            "statistics[i] is the "
            "`limit` of row i (iToy alongside). Compare the distributions "
            "statistically (p-value of the "
            "observed value, KS), not toy by toy."
        ),
        "cards": cards,
    }


# ---------------------------------------------------------------- HybridNew
HYBRID_CARDS = [
    "tutorials/CAT23001/datacard-1-counting-experiment.txt",
    "tutorials/counting/simple-counting-experiment.txt",
]


def hypo_test_distributions(path: Path) -> dict:
    """Test statistics of a --saveHybridResult file: data, b-only (null) and s+b (alt)
    toys, as Combine's test/plotting/hypoTestResultTree.cxx reads them."""
    f = ROOT.TFile.Open(str(path))
    if not f or f.IsZombie():
        return {}
    d = f.Get("toys")
    out = {}
    if d:
        for key in d.GetListOfKeys():
            obj = key.ReadObj()
            if obj.InheritsFrom("RooStats::HypoTestResult"):
                out[key.GetName()] = {
                    "test_statistic_data": obj.GetTestStatisticData(),
                    "null_b": list(obj.GetNullDistribution().GetSamplingDistribution()),
                    "alt_sb": list(obj.GetAltDistribution().GetSamplingDistribution()),
                    "CLs": obj.CLs(),
                    "CLsError": obj.CLsError(),
                    "CLsplusb": obj.CLsplusb(),
                    "CLb": obj.CLb(),
                }
    f.Close()
    return out


HYBRID_ABOUT = (
    "HybridNew (toy-based CLs, --LHCmode LHC-limits, default seed 123456). "
    "single_point: --singlePoint 1 -T 2000 --clsAcc 0 --saveHybridResult (Combine "
    "threw "
    "2000 s+b and 500 b-only toys): CLs/CLs_err = `limit`/`limitErr`; "
    "hypo_test_results: "
    "from the toys/ directory of the file, the observed test statistic and the toy "
    "test statistics of the b-only (null_b: GetNullDistribution) and s+b (alt_sb: "
    "GetAltDistribution; CLsplusb = fraction of alt_sb >= data) toys, for "
    "statistical comparison. limit: the observed 95% CL upper-limit search with "
    "-T 500 --clsAcc 0.01 (the accuracy of Combine's CI test; the default 0.005 "
    "took over 10 min of wall time on this loaded machine), limit/limit_err = "
    "`limit`/`limitErr` of the last row. expected_median: the same with "
    "--expectedFromGrid 0.5 (no grid file). Each run has a 900 s timeout (a timed-out "
    "run keeps returncode -9 and no numbers). The '(Combine CI test)' entry reruns "
    "Combine's own HybridNew CI test (test/CMakeLists.txt) to show this build "
    "reproduces test/references/LHC-limits.out seed for seed."
)


def section_hybrid_new() -> dict:
    cards = {}
    for card in selected(HYBRID_CARDS):
        mass = CARDS[card]
        t2w = workspace(card)
        cwd = run_dir(card)
        m = fmt_mass(mass)
        rec = {"text2workspace": t2w}
        res = run(
            f"combine ws.root -m {m} -n .hn1 -M HybridNew --singlePoint 1 --LHCmode "
            "LHC-limits -T 2000 --clsAcc 0 "
            "--saveHybridResult",
            cwd,
            "hn1.log",
            timeout=900,
        )
        path = output(cwd, ".hn1", "HybridNew", m)
        rows = limit_rows(path)
        rec["single_point"] = {
            **meta(res),
            "r": 1.0,
            "CLs": rows[-1]["limit"] if rows else None,
            "CLs_err": rows[-1]["limitErr"] if rows else None,
            "hypo_test_results": hypo_test_distributions(path),
            "stdout_result": [ln for ln in res["stdout"].splitlines() if "CLs" in ln],
        }
        res = run(
            f"combine ws.root -m {m} -n .hn -M HybridNew --LHCmode LHC-limits -T 500 "
            "--clsAcc 0.01",
            cwd,
            "hn.log",
            timeout=900,
        )
        rows = limit_rows(output(cwd, ".hn", "HybridNew", m))
        rec["limit"] = {
            **meta(res),
            "limit": rows[-1]["limit"] if rows else None,
            "limit_err": rows[-1]["limitErr"] if rows else None,
            "stdout_result": [
                ln for ln in res["stdout"].splitlines() if "Limit:" in ln
            ],
        }
        res = run(
            f"combine ws.root -m {m} -n .hn_exp -M HybridNew --LHCmode LHC-limits -T "
            "500 --clsAcc 0.01 "
            "--expectedFromGrid 0.5",
            cwd,
            "hn_exp.log",
            timeout=900,
        )
        rows = limit_rows(output(cwd, ".hn_exp", "HybridNew", m))
        rec["expected_median"] = {
            **meta(res),
            "limit": rows[-1]["limit"] if rows else None,
            "limit_err": rows[-1]["limitErr"] if rows else None,
            "quantileExpected": rows[-1]["quantileExpected"] if rows else None,
            "stdout_result": [
                ln for ln in res["stdout"].splitlines() if "Limit:" in ln
            ],
        }
        cards[card] = rec
        save("HybridNew", {"about": HYBRID_ABOUT, "cards": {card: rec}}, partial=True)
        print(card, rec["limit"]["limit"], rec["single_point"]["CLs"], flush=True)
    # Combine's own CI test (test/CMakeLists.txt, reference test/references/
    # LHC-limits.out: "Limit: r < 0.331542 +/- 0.0141765 @ 95% CL"): does this build
    # reproduce it seed for seed?
    card = "tutorials/CAT23001/datacard-2-template-analysis.txt"
    if ONLY and "ci-test" not in ONLY:  # RECORD_ONLY=ci-test reruns only the CI command
        return {"cards": cards}
    cwd = run_dir(card)
    res = run(
        f"combine {card} -M HybridNew --LHCmode LHC-limits --rMax 2.0 --clsAcc 0.01",
        cwd,
        "hn_ci.log",
        timeout=600,
    )
    rows = limit_rows(output(cwd, "Test", "HybridNew", "120"))
    cards[card + " (Combine CI test)"] = {
        "limit": {
            **meta(res),
            "limit": rows[-1]["limit"] if rows else None,
            "limit_err": rows[-1]["limitErr"] if rows else None,
            "stdout_result": [
                ln for ln in res["stdout"].splitlines() if "Limit:" in ln
            ],
            "combine_ci_reference": "Limit: r < 0.331542 +/- 0.0141765 @ 95% CL",
        }
    }
    return {"about": HYBRID_ABOUT, "cards": cards}


# ------------------------------------------------------ ChannelCompatibilityCheck
CCC_CARDS = [
    "ci/htt_multiple_regions.txt",
    "tutorials/CAT23001/datacard-4-abcd.txt",
    "tutorials/CAT23001/datacard-5-multi-signal.txt",
    "tutorials/counting/realistic-multi-channel.txt",
    "tutorials/multiDim/toy-hgg-125.txt",
]
_CCC_FIT = re.compile(
    r"(Nominal|Alternate) fit\s*: r =\s*(\S+)\s+(\S+)/(\S+)(?:\s+in channel (\S+))?"
)
_CCC_CHI2 = re.compile(r"Chi2-like compatibility variable:\s*(\S+)")


def parse_ccc(stdout: str) -> dict:
    out: dict = {"channels": {}}
    for ln in stdout.splitlines():
        m = _CCC_FIT.search(ln)
        if m:
            rec = {
                "r": float(m.group(2)),
                "r_lo_err": float(m.group(3)),
                "r_hi_err": float(m.group(4)),
            }
            if m.group(1) == "Nominal":
                out["nominal"] = rec
            else:
                out["channels"][m.group(5)] = rec
        m = _CCC_CHI2.search(ln)
        if m:
            out["chi2"] = float(m.group(1))
    return out


def section_channel_compatibility() -> dict:
    cards = {}
    for card in selected(CCC_CARDS):
        mass = CARDS[card]
        m = fmt_mass(mass)
        t2w = workspace(card)
        cwd = run_dir(card)
        res = run(
            f"combine ws.root -m {m} -n .ccc -M ChannelCompatibilityCheck "
            "--saveFitResult",
            cwd,
            "ccc.log",
        )
        rows = limit_rows(output(cwd, ".ccc", "ChannelCompatibilityCheck", m))
        rec = {"text2workspace": t2w, **meta(res), **parse_ccc(res["stdout"])}
        rec["limit"] = rows[0]["limit"] if rows else None
        if "chi2" not in rec:  # Combine catches its exception and still exits 0
            rec["error"] = (res["stdout"] + res["stderr"])[-1500:]
        rec["fits"] = ccc_fit_results(
            output(cwd, ".ccc", "ChannelCompatibilityCheck", m)
        )
        cards[card] = rec
        print(card, rec.get("chi2"), rec["time"], flush=True)
    card = "tutorials/CAT23001/datacard-5-multi-signal.txt"
    if ONLY and "ci-test" not in ONLY:  # RECORD_ONLY=ci-test reruns only the CI command
        return {"cards": cards}
    cwd = run_dir(card)
    res = run(
        f"combine {card} -M ChannelCompatibilityCheck --mass 125", cwd, "ccc_ci.log"
    )
    cards[card + " (Combine CI test)"] = {
        **meta(res),
        **parse_ccc(res["stdout"]),
        "combine_ci_reference": "references/multi-signal-ChannelCompatibilityCheck.out",
    }
    return {
        "about": (
            "ChannelCompatibilityCheck (defaults: r floating, runMinos 1) on the "
            "multi-channel cards with "
            "--saveFitResult. nominal: the fit with one r; channels: the fit with one "
            "r per channel "
            "(r_<channel>), each r with its MINOS errors as printed; chi2: the "
            "'Chi2-like compatibility "
            "variable' (= `limit`, = 2*(NLL_nominal - NLL_alternate)); fits: the "
            "fit_nominal/"
            "fit_alternate RooFitResults of the --saveFitResult file. The '(Combine CI "
            "test)' entry is "
            "the command of Combine's test/CMakeLists.txt that made "
            "../shared/data/combine/references/"
            "multi-signal-ChannelCompatibilityCheck.out "
            "(text card "
            "given to combine directly, --mass 125 although text2workspace runs use -m "
            "120)."
        ),
        "cards": cards,
    }


def ccc_fit_results(path: Path) -> dict:
    f = ROOT.TFile.Open(str(path))
    out = {}
    if f and not f.IsZombie():
        for name in ("fit_nominal", "fit_alternate"):
            obj = f.Get(name)
            if obj:
                out[name] = fit_result(obj)
        f.Close()
    return out


# ---------------------------------- Impacts (combineTool.py -M Impacts emulated)
IMPACT_CARDS = [
    "tutorials/CAT23001/datacard-1-counting-experiment.txt",
    "tutorials/counting/realistic-counting-experiment.txt",
    "tutorials/shapes/simple-shapes-TH1.txt",
    "ci/template-analysis_shape_autoMCStats.txt",
    "tutorials/groups/groupnuisB.txt",
    "tutorials/CAT23001/datacard-5-multi-signal.txt",
    "tutorials/CAT23001/datacard-4-abcd.txt",
    "ci/htt_multiple_regions.txt",
]


def ws_list(path: Path, setname: str) -> list[str]:
    f = ROOT.TFile(str(path))
    w = f.Get("w")
    return [v.GetName() for v in w.set(setname)]


def all_free_parameters(path: Path, pois: list[str]) -> list[str]:
    """CombineHarvester Impacts.all_free_parameters."""
    f = ROOT.TFile.Open(str(path))
    w = f.Get("w")
    config = w.genobj("ModelConfig")
    pdfvars = config.GetPdf().getParameters(config.GetObservables())
    return [
        v.GetName()
        for v in pdfvars
        if v.GetName() not in pois
        and not v.isConstant()
        and v.InheritsFrom("RooRealVar")
    ]


def prefit_from_workspace(path: Path, params: list[str]) -> dict:
    """CombineHarvester utils.prefit_from_workspace (no --setParameters)."""
    res = {}
    f = ROOT.TFile(str(path))
    ws = f.Get("w")
    for p in params:
        res[p] = {}
        var = ws.var(p)
        pdf = ws.pdf(p + "_Pdf")
        gobs = ws.var(p + "_In")
        if pdf and gobs:
            nll = ROOT.RooConstraintSum(
                "NLL", "", ROOT.RooArgSet(pdf), ROOT.RooArgSet(var)
            )
            minim = ROOT.RooMinimizer(nll)
            minim.setEps(0.001)
            minim.setErrorLevel(0.5)
            minim.setPrintLevel(-1)
            minim.setVerbose(False)
            minim.minimize("Minuit2", "migrad")
            minim.minos(ROOT.RooArgSet(var))
            val = var.getVal()
            errlo = -1 * var.getErrorLo()
            errhi = +1 * var.getErrorHi()
            res[p]["prefit"] = [val - errlo, val, val + errhi]
            if pdf.IsA().InheritsFrom(ROOT.RooGaussian.Class()):
                res[p]["type"] = "Gaussian"
            elif pdf.IsA().InheritsFrom(ROOT.RooPoisson.Class()):
                res[p]["type"] = "Poisson"
            elif pdf.IsA().InheritsFrom(ROOT.RooBifurGauss.Class()):
                res[p]["type"] = "AsymmetricGaussian"
            else:
                res[p]["type"] = "Unrecognised"
        elif not pdf or pdf.IsA().InheritsFrom(ROOT.RooUniform.Class()):
            res[p]["type"] = "Unconstrained"
            res[p]["prefit"] = [var.getVal(), var.getVal(), var.getVal()]
        res[p]["groups"] = [
            x.replace("group_", "") for x in var.attributes() if x.startswith("group_")
        ]
    return res


def singles_results(path: Path, scanned: list[str], columns: list[str]) -> dict | None:
    """CombineHarvester utils.get_singles_results."""
    rows = limit_rows(path)
    if len(rows) < 1 + 2 * len(scanned):
        return None
    res = {}
    for i, param in enumerate(scanned):
        res[param] = {
            col: [rows[i * 2 + 1][col], rows[0][col], rows[i * 2 + 2][col]]
            for col in columns
        }
    return res


def section_impacts() -> dict:
    cards = {}
    for card in selected(IMPACT_CARDS):
        mass = CARDS[card]
        m = fmt_mass(mass)
        t2w = workspace(card)
        cwd = run_dir(card)
        ws = cwd / "ws.root"
        pois = ws_list(ws, "ModelConfig_POI")
        poistr = ",".join(pois)
        passthru = f"--robustFit 1 -m {m} -d ws.root"
        t0 = time.perf_counter()
        runs = []
        res = run(
            f"combine -M MultiDimFit -n _initialFit_Test --algo singles "
            f"--redefineSignalPOIs {poistr} {passthru}",
            cwd,
            "impacts_initial.log",
        )
        runs.append(meta(res))
        initial = singles_results(
            output(cwd, "_initialFit_Test", "MultiDimFit", m), pois, pois
        )
        params = all_free_parameters(ws, pois)
        prefit = prefit_from_workspace(ws, params)
        out = {
            "POIs": [{"name": p, "fit": initial[p][p]} for p in pois]
            if initial
            else [],
            "params": [],
        }
        missing = []
        for param in params:
            res = run(
                f"combine -M MultiDimFit -n _paramFit_Test_{param} --algo impact "
                f"--redefineSignalPOIs {poistr} "
                f"-P {param} --floatOtherPOIs 1 --saveInactivePOI 1 {passthru}",
                cwd,
                f"impacts_{param}.log",
            )
            runs.append(meta(res))
            scan = singles_results(
                output(cwd, f"_paramFit_Test_{param}", "MultiDimFit", m),
                [param],
                pois + [param],
            )
            if scan is None:
                missing.append(param)
                continue
            pres = {"name": param, **prefit[param], "fit": scan[param][param]}
            for p in pois:
                lo, c, hi = scan[param][p]
                pres[p] = scan[param][p]
                pres["impact_" + p] = max(abs(hi - c), abs(lo - c))
            out["params"].append(pres)
        out["method"] = "default"
        total = time.perf_counter() - t0
        cards[card] = {
            "text2workspace": t2w,
            "combineTool_equivalent": [
                f"combineTool.py -M Impacts -d ws.root -m {m} --doInitialFit "
                "--robustFit 1",
                f"combineTool.py -M Impacts -d ws.root -m {m} --doFits --robustFit 1",
                f"combineTool.py -M Impacts -d ws.root -m {m} -o impacts.json",
            ],
            "runs": runs,
            "time": round(total, 3),
            "missing": missing,
            "impacts": out,
        }
        (cwd / "impacts.json").write_text(
            json.dumps(out, sort_keys=True, indent=2, separators=(",", ": "))
        )
        cards[card]["kept_files"] = keep_files(card, cwd, ["impacts.json"])
        print(card, len(out["params"]), "params", round(total, 1), "s", flush=True)
    return {
        "about": (
            "combineTool.py -M Impacts (CombineHarvester Impacts.py at the commit in "
            "about) emulated with "
            "the exact combine commands it issues (runs[].command: the initial --algo "
            "singles fit, then "
            "one --algo impact fit per parameter) and its impacts.json construction "
            "(prefit from the "
            "workspace constraint pdf via RooConstraintSum + MINOS, fit/POI triplets "
            "[lo, central, hi] "
            "read from the limit trees like utils.get_singles_results, impact_<poi> = "
            "max |shift|). "
            "`impacts` is the impacts.json content; combineTool_equivalent lists the "
            "user's commands; "
            "time is the wall time of the whole workflow."
        ),
        "cards": cards,
    }


# ---------------------------------------------------------------- MultiDimFit
GRID_CARDS = list(CARDS)
VARIANT_CARDS = {
    "tutorials/counting/realistic-counting-experiment.txt": [
        ("freeze_one", "--freezeParameters lumi"),
        ("freeze_rgx", "--freezeParameters rgx{xs_.*}"),
        ("freeze_all_constrained", "--freezeParameters allConstrainedNuisances"),
        ("set_and_freeze", "--setParameters lumi=1,r=0.5 --freezeParameters lumi"),
        ("r_range", "--rMin -1 --rMax 5"),
        ("set_parameter_ranges", "--setParameterRanges r=0,3"),
        ("asimov", "-t -1 --expectSignal 1"),
    ],
    "tutorials/groups/groupnuisA.txt": [
        ("freeze_group_theo", "--freezeNuisanceGroups theo"),
        ("freeze_groups_theo_lumi", "--freezeNuisanceGroups theo,lumi"),
        ("freeze_one", "--freezeParameters lumi"),
        ("freeze_all_constrained", "--freezeParameters allConstrainedNuisances"),
        ("set_and_freeze", "--setParameters theo_ggH=1 --freezeParameters theo_ggH"),
        ("r_range", "--rMin 0 --rMax 2"),
        ("asimov", "-t -1 --expectSignal 1"),
    ],
    "ci/template-analysis_shape_autoMCStats.txt": [
        ("freeze_rgx_mcstats", "--freezeParameters rgx{prop_bin.*}"),
        ("freeze_all_constrained", "--freezeParameters allConstrainedNuisances"),
        ("r_range", "--rMin -2 --rMax 2"),
        ("asimov", "-t -1 --expectSignal 1"),
    ],
}

POI_KEYS = ("r", "r_ggH", "r_qqH")


def singles_summary(rows: list[dict], pois: list[str]) -> dict:
    if not rows:
        return {}
    out = {}
    for i, p in enumerate(pois):
        if p not in rows[0]:
            continue
        rec = {"value": rows[0][p]}
        if len(rows) >= 3 + 2 * i:
            rec["interval"] = [rows[1 + 2 * i][p], rows[2 + 2 * i][p]]
        out[p] = rec
    return out


def section_multidimfit() -> dict:
    grid, fixed, variants, two_poi = {}, {}, {}, {}
    for card in selected(GRID_CARDS):
        mass = CARDS[card]
        m = fmt_mass(mass)
        t2w = workspace(card)
        cwd = run_dir(card)
        res = run(
            f"combine ws.root -m {m} -n .grid -M MultiDimFit --algo grid --points 21",
            cwd,
            "grid.log",
        )
        rows = limit_rows(
            output(cwd, ".grid", "MultiDimFit", m),
            ["r", "deltaNLL", "quantileExpected"],
        )
        grid[card] = {"text2workspace": t2w, **meta(res), "rows": rows}
        res = run(
            f"combine ws.root -m {m} -n .fixed -M MultiDimFit --algo fixed "
            "--fixedPointPOIs r=1",
            cwd,
            "fixed.log",
        )
        rows = limit_rows(
            output(cwd, ".fixed", "MultiDimFit", m),
            ["r", "deltaNLL", "quantileExpected"],
        )
        fixed[card] = {"text2workspace": t2w, **meta(res), "rows": rows}
        print(card, "grid", len(grid[card]["rows"]), "fixed", rows, flush=True)
    for card in selected(VARIANT_CARDS):
        opts = VARIANT_CARDS[card]
        mass = CARDS[card]
        m = fmt_mass(mass)
        t2w = workspace(card)
        cwd = run_dir(card)
        recs = {}
        for name, extra in [("default", "")] + opts:
            cmd = f"combine ws.root -m {m} -n .v_{name} -M MultiDimFit --algo singles"
            if extra:
                cmd += " " + extra
            res = run(cmd, cwd, f"v_{name}.log")
            rows = limit_rows(output(cwd, f".v_{name}", "MultiDimFit", m))
            rows_kept = [
                {
                    k: v
                    for k, v in r.items()
                    if k in ("r", "deltaNLL", "quantileExpected")
                }
                for r in rows
            ]
            recs[name] = {
                **meta(res),
                "options": extra,
                "rows": rows_kept,
                **singles_summary(rows, ["r"]),
            }
        variants[card] = {"text2workspace": t2w, "runs": recs}
        print(card, {k: v.get("r") for k, v in recs.items()}, flush=True)
    two_poi = section_two_poi()
    return {
        "about": (
            "MultiDimFit. grid: --algo grid --points 21 on every card (default r range "
            "from the workspace, "
            "[0,20] unless the card says otherwise); rows = every row of the limit "
            "tree (r, deltaNLL, "
            "quantileExpected; the first row is the best fit). fixed: --algo fixed "
            "--fixedPointPOIs r=1 "
            "(rows: best fit, then the fixed point with its deltaNLL). variants: "
            "--algo singles with option "
            "variants (freezeParameters names / rgx{} / allConstrainedNuisances, "
            "setParameters, "
            "freezeNuisanceGroups, rMin/rMax, setParameterRanges, -t -1 --expectSignal "
            "1): r.value and "
            "r.interval = rows 0,1,2 of the tree. two_poi: physics models with two "
            "POIs (see its about)."
        ),
        "grid": {"cards": grid},
        "fixed": {"cards": fixed},
        "variants": {"cards": variants},
        "two_poi": two_poi,
    }


TWO_POI_MODELS = {
    "tutorials/multiDim/toy-hgg-125.txt": [
        (
            "floatingXSHiggs",
            "-P HiggsAnalysis.CombinedLimit.PhysicsModel:floatingXSHiggs --PO "
            "modes=ggH,qqH",
            "ws_xs.root",
            ["r_ggH", "r_qqH"],
        ),
        (
            "multiSignalModel_2d",
            "-P HiggsAnalysis.CombinedLimit.PhysicsModel:multiSignalModel --PO verbose "
            "--PO map=.*/ggH:r_ggH[1,0,10] --PO map=.*/qqH:r_qqH[1,0,20]",
            "ws_2d.root",
            ["r_ggH", "r_qqH"],
        ),
        (
            "multiSignalModel_1d",
            "-P HiggsAnalysis.CombinedLimit.PhysicsModel:multiSignalModel --PO verbose "
            "--PO map=.*/ggH:r[1,0,10] --PO map=.*/qqH:r",
            "ws_1d.root",
            ["r"],
        ),
        (
            "multiSignalModel_qqH_only",
            "-P HiggsAnalysis.CombinedLimit.PhysicsModel:multiSignalModel --PO verbose "
            "--PO map=.*/ggH:1 --PO map=.*/qqH:r_qqH[1,0,20]",
            "ws_1dqqH.root",
            ["r_qqH"],
        ),
    ],
    "tutorials/CAT23001/datacard-5-multi-signal.txt": [
        (
            "floatingXSHiggs",
            "-P HiggsAnalysis.CombinedLimit.PhysicsModel:floatingXSHiggs --PO "
            "modes=ggH,qqH",
            "ws_xs.root",
            ["r_ggH", "r_qqH"],
        ),
    ],
}


def section_two_poi() -> dict:
    cards = {}
    for card in selected(TWO_POI_MODELS):
        models = TWO_POI_MODELS[card]
        mass = CARDS[card]
        m = fmt_mass(mass)
        cwd = run_dir(card)
        card_rec = {}
        for model, po, wsname, pois in models:
            t2w = workspace(card, po, wsname)
            runs = {}
            variants = [("none", ""), ("singles", "--algo singles")]
            if len(pois) == 2:
                a, b = pois
                variants += [
                    ("fixed", f"--algo fixed --fixedPointPOIs {a}=1,{b}=1"),
                    ("grid", "--algo grid --points 100"),
                    (
                        "P_first_float_other",
                        f"--algo singles -P {a} --floatOtherPOIs 1",
                    ),
                    (
                        "P_first_fixed_other",
                        f"--algo singles -P {a} --floatOtherPOIs 0",
                    ),
                    (
                        "P_second_grid_float_other",
                        f"--algo grid --points 21 -P {b} --floatOtherPOIs 1",
                    ),
                    ("redefine_first", f"--algo singles --redefineSignalPOIs {a}"),
                    (
                        "set_ranges",
                        f"--algo singles --setParameterRanges {a}=0,3:{b}=0,10",
                    ),
                    (
                        "freeze_other",
                        f"--algo singles --freezeParameters {b} --setParameters {b}=1",
                    ),
                ]
            for name, extra in variants:
                tag = f".{model}_{name}"
                cmd = f"combine {wsname} -m {m} -n {tag} -M MultiDimFit"
                if extra:
                    cmd += " " + extra
                res = run(cmd, cwd, f"mdf{tag}.log")
                rows = limit_rows(output(cwd, f"{tag}", "MultiDimFit", m))
                keep = [*pois, "deltaNLL", "quantileExpected"]
                rows = [{k: v for k, v in r.items() if k in keep} for r in rows]
                runs[name] = {**meta(res), "options": extra, "rows": rows}
                if (
                    name == "singles"
                    or name.startswith("P_first")
                    or name in ("redefine_first", "set_ranges")
                ):
                    runs[name]["summary"] = singles_summary_named(res["stdout"])
            card_rec[model] = {"text2workspace": t2w, "pois": pois, "runs": runs}
            print(
                card,
                model,
                {k: v.get("summary") for k, v in runs.items() if "summary" in v},
                flush=True,
            )
        cards[card] = card_rec
    return {
        "about": (
            "Two-POI physics models from Combine's docs (docs/part2/physicsmodels.md, "
            "docs/part3/commonstatsmethods.md and test/CMakeLists.txt's multi-signal "
            "test): text2workspace "
            "with -P/--PO (the model's `text2workspace` record), then MultiDimFit "
            "runs: none, singles, "
            "fixed at (1,1), a 2D grid with --points 100, -P <one POI> with "
            "--floatOtherPOIs 1/0, a 1D grid "
            "of the second POI, --redefineSignalPOIs, --setParameterRanges and "
            "--freezeParameters. rows: "
            "the limit tree (POI branches, deltaNLL, quantileExpected; with -P the "
            "other POI is written only "
            "when floating... as Combine does); summary: the printed 'best fit "
            "parameter values and "
            "profile-likelihood uncertainties' lines as {poi: [value, err_lo, err_hi]}."
        ),
        "cards": cards,
    }


_SINGLES_LINE = re.compile(
    r"^\s*(\S+)\s*:\s*([-+][\d.eE+-]+)\s+([-+][\d.eE+-]+)/([-+][\d.eE+-]+)\s+\(68%\)"
)


def singles_summary_named(stdout: str) -> dict:
    out = {}
    for ln in stdout.splitlines():
        mm = _SINGLES_LINE.match(ln)
        if mm:
            out[mm.group(1)] = [
                float(mm.group(2)),
                float(mm.group(3)),
                float(mm.group(4)),
            ]
    return out


SECTIONS = {
    "FitDiagnostics": section_fit_diagnostics,
    "GoodnessOfFit": section_goodness_of_fit,
    "HybridNew": section_hybrid_new,
    "ChannelCompatibilityCheck": section_channel_compatibility,
    "Impacts": section_impacts,
    "MultiDimFit": section_multidimfit,
}


def main(argv: list[str]) -> int:
    names = argv or list(SECTIONS)
    for name in names:
        if name not in SECTIONS:
            print(
                f"unknown section {name!r}; choose from {', '.join(SECTIONS)}",
                file=sys.stderr,
            )
            return 2
    for name in names:
        save(name, SECTIONS[name]())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
