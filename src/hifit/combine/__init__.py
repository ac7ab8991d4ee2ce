"""Combine's front end: ``hifit combine CARD -M METHOD [Combine's options]`` runs
Combine's methods on a datacard with Combine's option names, printed wording and
output files (``higgsCombine<name>.<Method>.mH<mass>.root``)::

    from hifit.combine import run
    code = run(["card.txt", "-M", "AsymptoticLimits", "-m", "125"])

:mod:`.options` parses the command line, :mod:`.setup` builds the model and data
with the parameter options applied, :mod:`.methods` holds one module per method and
:mod:`.limit_tree` writes the ``limit`` TTree.
"""

from __future__ import annotations

from .options import CombineOptions, OptionError, parse
from .runner import run, run_options

__all__ = ["CombineOptions", "OptionError", "parse", "run", "run_options"]
