"""Wall time of one ``hifit combine`` command against the real Combine's
``text2workspace.py`` + the same method (recorded in
shared/data/combine/references/combine_real_runs.json, wall seconds).

Each command runs as a fresh process in a scratch folder (start-up, reading the card
and its shapes, the method, writing higgsCombine*.root), the best of ``--repeat``,
byte-compiled as an installed package (one warm-up command first)::

    python benchmarks/bench_combine_cli.py [--cards SUBSTRING ...] [--methods mdf ...]
        [--repeat 3]

Prints a table card x method -> hifit wall, Combine wall, ratio (and the same for
CPU seconds, which the machine's load does not inflate), then min / median / max of
the ratios. The issue's target is a wall ratio of at least 10.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "combine"
REAL = DATA / "references" / "combine_real_runs.json"

# the recorded Combine commands (combine_real_runs.json "commands"), as hifit combine
METHODS = {
    "mdf": ["-M", "MultiDimFit", "--algo", "singles"],
    "asymptotic": ["-M", "AsymptoticLimits"],
    "sig_obs": ["-M", "Significance"],
    "sig_exp_apriori": ["-M", "Significance", "-t", "-1", "--expectSignal", "1"],
    "sig_exp_aposteriori": [
        "-M",
        "Significance",
        "-t",
        "-1",
        "--expectSignal",
        "1",
        "--toysFrequentist",
    ],
}


# as an installed package runs: byte-compiled (a source tree run with
# PYTHONDONTWRITEBYTECODE=1 recompiles hifit's modules every time, ~0.1 s)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall(argv: list[str], folder: str, repeat: int) -> tuple[float, float, int]:
    """(wall, cpu) seconds of the fastest run, and its exit code."""
    best, cpu, code = float("inf"), float("inf"), 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _cpu()
        done = subprocess.run(
            argv, cwd=folder, capture_output=True, check=False, env=ENV
        )
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, cpu, code = elapsed, _cpu() - start_cpu, done.returncode
    return best, cpu, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cards", nargs="*", default=[], help="substrings of card paths"
    )
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    cards = json.loads(REAL.read_text())["cards"]
    hifit = [sys.executable, "-m", "hifit.cli", "combine"]
    rows, ratios, cpu_ratios = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        warm_up = [*hifit, str(DATA / next(iter(cards))), *METHODS["mdf"]]
        wall(warm_up, folder, 1)  # writes the byte code, as installing does
        for card, entry in cards.items():
            if args.cards and not any(s in card for s in args.cards):
                continue
            times = entry.get("times", {})
            for method in args.methods:
                if method not in times or "text2workspace" not in times:
                    continue
                argv = [
                    *hifit,
                    str(DATA / card),
                    "-m",
                    str(entry.get("mass", 120)),
                    "-n",
                    f".{method}",
                    *METHODS[method],
                ]
                ours, ours_cpu, code = wall(argv, folder, args.repeat)
                theirs = times["text2workspace"] + times[method]
                cpu = entry.get("cpu", {})
                theirs_cpu = cpu.get("text2workspace", 0.0) + cpu.get(method, 0.0)
                ratio = theirs / ours
                ratios.append(ratio)
                cpu_ratios.append(theirs_cpu / ours_cpu if ours_cpu else float("nan"))
                rows.append(
                    (
                        card,
                        method,
                        ours,
                        theirs,
                        ratio,
                        ours_cpu,
                        theirs_cpu,
                        cpu_ratios[-1],
                        code,
                    )
                )
    width = max((len(r[0]) for r in rows), default=10)
    print(
        f"{'card':<{width}}  {'method':<20} {'hifit s':>8} {'Combine s':>10} "
        f"{'ratio':>6} {'hifit cpu':>10} {'Combine cpu':>12} {'ratio':>6}  exit"
    )
    for card, method, ours, theirs, ratio, c_ours, c_theirs, c_ratio, code in rows:
        print(
            f"{card:<{width}}  {method:<20} {ours:8.3f} {theirs:10.3f} {ratio:6.1f} "
            f"{c_ours:10.3f} {c_theirs:12.3f} {c_ratio:6.1f}  {code}"
        )
    for label, values in (("wall", ratios), ("cpu", cpu_ratios)):
        if values:
            print(
                f"{label} ratio over {len(values)} commands: min {min(values):.1f}  "
                f"median {statistics.median(values):.1f}  max {max(values):.1f}"
            )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
