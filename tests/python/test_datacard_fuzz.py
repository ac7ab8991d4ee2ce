"""Malformed cards: seeded random mutations of every shared Combine card.

The parser (and what runs on a parsed card: shapes lookup, combination, writing)
must either succeed or raise hifit's error class -- never crash, never raise
anything else.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hifit import _core
from hifit.exceptions import HifitError

COMBINE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "combine"
CARDS = sorted(COMBINE.glob("*/**/*.txt"))
CASES_PER_CARD = 150

GARBAGE = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-1e999",
    "1e-320",
    "-1",
    "-0",
    "0",
    "1",
    "-",
    "--",
    "/",
    "1/",
    "/1",
    "0/0",
    "1/1/1",
    "-1/2",
    "2/-1",
    "0.5/nan",
    "[",
    "]",
    "[1,",
    "[1,2",
    "[2,1]",
    "[a,b]",
    "[,]",
    "(",
    ")",
    "(@0",
    "(@9)",
    "(@0*@1)",
    "@",
    "a,,b",
    ",",
    "*",
    "?",
    "[*",
    "x" * 300,
    "\x00",
    "\t",
    "é",
    "+",
    "++1",
    "+-1",
    "0x10",
    "1_000",
    "１",
    "#",
    "shape?",
    "shape",
    "lnN",
    "gmN",
    "param",
    "rateParam",
    "extArg",
    "group",
    "=",
    "+=",
    "autoMCStats",
    "edit",
    "nuisance",
    "FAKE",
    "$MASS",
    "$PROCESS",
    "bin",
    "process",
    "rate",
    "observation",
    "imax",
    "kmax",
    "jmax",
    "shapes",
    "9bin",
    "ifexists",
    "drop",
    "rename",
    "add",
    "freeze",
    "changepdf",
    "f.root:ws",
    "2147483648",
    "-2147483649",
    "99999999999999999999",
]
NUMBERS = ["nan", "inf", "1e308", "1e309", "-5", "-1", "0", "1e-300", "3.5", "7"]
EXTRA_LINES = [
    "nuisance edit {0} * * {1} lnN 1.1",
    "nuisance edit {0} {1} {2}",
    "nuisance edit rename {1} {2}",
    "nuisance edit add {1} {2} new lnN {0}",
    "nuisance edit changepdf {1} {0}",
    "{1} group = {2} {0}",
    "{1} group += {0}",
    "{1} rateParam {0} {2} 1 [0,5]",
    "{1} rateParam * * ({0}) {2}",
    "{1} param {0} {2}",
    "{1} extArg {0}",
    "{0} autoMCStats {1} {2}",
    "shapes {0} {1} {2} $PROCESS $PROCESS_$SYSTEMATIC",
    "{0} {1} {2}",
    "{1} shape? {0} {2}",
    "{1} gmN {0} {2}",
]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        op = rng.randrange(11)
        if op == 0:  # delete a line
            del lines[i]
        elif op == 1:  # duplicate a line
            lines.insert(i, lines[i])
        elif op == 2:  # swap two lines
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 3:  # truncate the card
            cut = rng.randrange(len("\n".join(lines)) + 1)
            lines = "\n".join(lines)[:cut].split("\n")
        elif op in (4, 5):  # a token becomes garbage
            tokens = lines[i].split()
            if tokens:
                tokens[rng.randrange(len(tokens))] = rng.choice(GARBAGE)
                lines[i] = " ".join(tokens)
        elif op == 6:  # a number becomes nan / huge / negative
            tokens = lines[i].split()
            numeric = [k for k, t in enumerate(tokens) if t[:1].isdigit()]
            if numeric:
                tokens[rng.choice(numeric)] = rng.choice(NUMBERS)
                lines[i] = " ".join(tokens)
        elif op == 7:  # a token is dropped or duplicated
            tokens = lines[i].split()
            if tokens:
                k = rng.randrange(len(tokens))
                if rng.random() < 0.5:
                    del tokens[k]
                else:
                    tokens.insert(k, tokens[k])
                lines[i] = " ".join(tokens)
        elif op == 8:  # two lines joined
            if i + 1 < len(lines):
                lines[i : i + 2] = [lines[i] + " " + lines[i + 1]]
        elif op == 9:  # a directive line with random arguments
            words = [rng.choice(GARBAGE) for _ in range(3)]
            line = rng.choice(EXTRA_LINES).format(*words)
            lines.insert(rng.randrange(len(lines) + 1), line)
        else:  # random characters in the middle of a line
            pos = rng.randrange(len(lines[i]) + 1)
            junk = "".join(rng.choice("#-/[]()*?@,:$= \t\x00é9") for _ in range(3))
            lines[i] = lines[i][:pos] + junk + lines[i][pos:]
    return "\n".join(lines)


def exercise(text: str, source: str, rng: random.Random, partner) -> None:
    """Parse, then run what follows parsing; only hifit errors may come out."""
    try:
        card = _core.datacard.parse(text, source)
    except HifitError as err:
        assert str(err).startswith(source + ":"), str(err)
        return
    for step in (
        lambda: _core.datacard.shape_requests(
            card, mass=rng.choice([120.0, 125.5, 1e300])
        ),
        lambda: _core.datacard.combine_cards([("a", card), ("b", partner)]),
        lambda: _core.datacard.parse(_core.datacard.write(card), "rewritten"),
    ):
        try:
            step()
        except HifitError:
            pass


@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.stem)
def test_mutated_cards_never_crash(path):
    text = path.read_text()
    partner = _core.datacard.parse(
        "bin z\nobservation 1\nbin z z\nprocess s b\nprocess 0 1\nrate 1 1\n"
        "lumi lnN 1.1 1.1\n"
    )
    rng = random.Random(f"hifit-datacard-fuzz-{path.name}")
    for case in range(CASES_PER_CARD):
        mutated = mutate(text, rng)
        try:
            exercise(mutated, "fuzz.txt", rng, partner)
        except AssertionError:
            raise
        except Exception as err:  # anything but HifitError is a bug
            pytest.fail(
                f"case {case}: {type(err).__name__}: {err}\n--- card ---\n{mutated}"
            )


def test_byte_garbage_never_crashes():
    rng = random.Random(7)
    alphabet = "abc 01-./[]()*#:\t\n\x00é=@$"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(200)))
        try:
            _core.datacard.parse(text, "junk.txt")
        except HifitError:
            pass
