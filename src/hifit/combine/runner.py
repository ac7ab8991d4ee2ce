"""One ``combine`` command: parse, check outputs, build, run the method, print, write
the limit tree. Exit codes: 0 a valid result, 1 a fit the result relies on failed
(named), 2 a bad command line or input (before any work)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from ..executor_checkpoint import recording
from ..io import check_outputs
from . import limit_tree
from .methods import METHODS, MethodResult
from .options import CombineOptions, parse
from .setup import FitFailed, build

BANNER = " <<< Combine >>> \n <<< hifit >>> \n"


def run(argv: list[str], *, resume: bool = False) -> int:
    """Runs one command line (without the program name); returns the exit code.
    Raises OptionError/ValueError for bad input (the CLI turns them into exit 2).

    The fan-outs' finished points (grid points, toys) are kept in
    ``<output>.checkpoint.jsonl`` while the run goes; ``resume`` reuses those an
    interrupted run of the same command line left."""
    options = parse(argv, methods=sorted(METHODS))
    return run_options(options, checkpoint_run={"argv": list(argv)}, resume=resume)


def run_options(
    options: CombineOptions, *, echo=None, checkpoint_run=None, resume: bool = False
) -> int:
    """``checkpoint_run`` (what names the run) keeps the fan-outs' finished points
    in ``<output>.checkpoint.jsonl``; without it none are kept."""
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
    ckpt = Path(f"{output}.checkpoint.jsonl")
    keep = (
        recording(ckpt, run={"combine": checkpoint_run}, resume=resume)
        if checkpoint_run is not None
        else contextlib.nullcontext()
    )
    try:
        with keep:
            setup = build(options)
            for warning in setup.warnings:
                print(f"hifit combine: warning: {warning}", file=sys.stderr)
            result: MethodResult = method.run(setup)
    except FitFailed as err:
        print(f"hifit combine: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if ckpt.exists():
            print(
                f"hifit: interrupted; finished points kept in {ckpt} "
                "(rerun with --resume)",
                file=sys.stderr,
            )
        raise
    echo(result.text)
    limit_tree.write(
        output,
        result.rows,
        mass=options.mass,
        seed=options.seed,
        toy=options.toys if options.toys <= 0 else 0,
    )
    if result.write_extra is not None:
        result.write_extra()
    if checkpoint_run is not None:
        ckpt.unlink(missing_ok=True)  # the output is written: it has served
    for note in result.notes:
        print(f"hifit combine: {note}", file=sys.stderr)
    if result.failure:
        print(f"hifit combine: {result.failure}", file=sys.stderr)
        return 1
    return 0
