"""Wall time of one ``hifit combine`` command against the real Combine's
``text2workspace.py`` + the same method (recorded in
shared/data/combine/references/combine_real_runs.json, wall seconds).

Each command runs as a fresh process in a scratch folder (start-up, reading the card
and its shapes, the method, writing higgsCombine*.root), the best of ``--repeat``::

    python benchmarks/bench_combine_cli.py [--cards SUBSTRING ...] [--methods mdf ...]
        [--repeat 3]

Prints a table card x method -> hifit wall, Combine wall, ratio, then the ratio's
min / median / max. The issue's target is a ratio of at least 10.
"""

from __future__ import annotations

import argparse
import json
import os
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


def wall(argv: list[str], folder: str, repeat: int) -> tuple[float, int]:
    best, code = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=folder, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
        code = done.returncode
    return best, code


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
    rows, ratios = [], []
    with tempfile.TemporaryDirectory() as folder:
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
                ours, code = wall(argv, folder, args.repeat)
                theirs = times["text2workspace"] + times[method]
                ratio = theirs / ours
                ratios.append(ratio)
                rows.append((card, method, ours, theirs, ratio, code))
    width = max((len(r[0]) for r in rows), default=10)
    print(
        f"{'card':<{width}}  {'method':<20} {'hifit s':>8} {'Combine s':>10} "
        f"{'ratio':>6}  exit"
    )
    for card, method, ours, theirs, ratio, code in rows:
        print(
            f"{card:<{width}}  {method:<20} {ours:8.3f} {theirs:10.3f} "
            f"{ratio:6.1f}  {code}"
        )
    if ratios:
        print(
            f"\nratio over {len(ratios)} commands: min {min(ratios):.1f}  "
            f"median {statistics.median(ratios):.1f}  max {max(ratios):.1f}"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
