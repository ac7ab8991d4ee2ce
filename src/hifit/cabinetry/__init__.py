"""The cabinetry-compatible layer: cabinetry's module names, functions and config
format on top of hifit's engine, so that cabinetry notebooks run unchanged with
``from hifit import cabinetry`` or ``import hifit as cabinetry``.

Modules load on first use: ``templates`` pulls in uproot, ``visualize`` matplotlib.
"""

from __future__ import annotations

import importlib

#: cabinetry's public module names, each a module of this package
MODULES = frozenset(
    {
        "configuration",
        "fit",
        "histo",
        "model_utils",
        "route",
        "smooth",
        "tabulate",
        "templates",
        "visualize",
        "workspace",
    }
)

__all__ = sorted(MODULES | {"set_logging"})


def set_logging() -> None:
    """cabinetry's verbose logging: DEBUG for the ``cabinetry`` loggers (hifit's
    cabinetry layer logs under cabinetry's names), INFO for ``pyhf``."""
    import logging  # not at import time: `import hifit` stays light

    logging.basicConfig(format="%(levelname)s - %(name)s - %(message)s")
    logging.getLogger("cabinetry").setLevel(logging.DEBUG)
    logging.getLogger("pyhf").setLevel(logging.INFO)


def __getattr__(name: str) -> object:
    if name in MODULES:
        return importlib.import_module(f".{name}", __name__)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__
