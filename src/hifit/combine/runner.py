"""One ``combine`` command: parse, check outputs, build, run the method, print, write
the limit tree. Exit codes: 0 a valid result, 1 a fit the result relies on failed
(named), 2 a bad command line or input (before any work)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..io import check_outputs
from . import limit_tree
from .methods import METHODS, MethodResult
from .options import CombineOptions, parse
from .setup import build

BANNER = " <<< Combine >>> \n <<< hifit >>> \n"


def run(argv: list[str]) -> int:
    """Runs one command line (without the program name); returns the exit code.
    Raises OptionError/ValueError for bad input (the CLI turns them into exit 2)."""
    options = parse(argv, methods=sorted(METHODS))
    return run_options(options)


def run_options(options: CombineOptions, *, echo=None) -> int:
    echo = echo or (lambda text: sys.stdout.write(text))
    method = METHODS[options.method]
    if not Path(options.card).is_file():
        raise FileNotFoundError(f"{options.card}: no such datacard")
    output = options.output_name()
    check_outputs([output, *method.extra_outputs(options)], [options.card])
    ignored = options.ignored()
    if ignored:
        names = ", ".join("--" + n for n in ignored)
        print(
            f"hifit combine: no effect here (Combine tuning): {names}", file=sys.stderr
        )
    echo(BANNER)
    echo(f">>> Random number generator seed is {options.seed}\n")
    echo(f">>> Method used is {options.method}\n")
    setup = build(options)
    result: MethodResult = method.run(setup)
    echo(result.text)
    limit_tree.write(
        output,
        result.rows,
        mass=options.mass,
        seed=options.seed,
        toy=options.toys if options.toys <= 0 else 0,
        syst=bool(options.get("systematics", True)),
    )
    if result.write_extra is not None:
        result.write_extra()
    if result.failure:
        print(f"hifit combine: {result.failure}", file=sys.stderr)
        return 1
    return 0
