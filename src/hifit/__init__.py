"""hifit: fast binned-likelihood inference (pyhf workspaces, fits, and more).

The numerical engine is C++ (``hifit._core``); this package is its thin Python face,
in two layers: hifit's own API here (:class:`Workspace`, :class:`Model`,
:mod:`hifit.infer`, :mod:`hifit.datacard`, :mod:`hifit.convert`, :mod:`hifit.stat`,
:mod:`hifit.io`, :mod:`hifit.cli`) and the cabinetry-compatible layer in
:mod:`hifit.cabinetry`, whose modules are also reachable as ``hifit.<name>``.
"""

from __future__ import annotations

import os as _os

# Development hook: HIFIT_CORE_DIR names a CMake build directory whose _core module
# replaces the installed one (several builds side by side, no reinstall).
if _os.environ.get("HIFIT_CORE_DIR"):
    __path__.insert(0, _os.path.abspath(_os.environ["HIFIT_CORE_DIR"]))

from .cabinetry import MODULES as _CABINETRY_MODULES

__version__ = "0.1.0"

# Names of the public API -> the module defining them. Imported on first use, so that
# `hifit --help` and `import hifit.cli` do not load numpy and the engine.
_LAZY = {
    "infer": None,  # the subpackage itself
    "HifitError": "exceptions",
    "InvalidModel": "exceptions",
    "InvalidPatch": "exceptions",
    "InvalidSpec": "exceptions",
    "Model": "model",
    "ModelConfig": "model",
    "PatchSet": "pyhf_workspace",
    "Workspace": "pyhf_workspace",
    "set_logging": "cabinetry",  # for `import hifit as cabinetry`
}

__all__ = [
    "HifitError",
    "InvalidModel",
    "InvalidPatch",
    "InvalidSpec",
    "Model",
    "ModelConfig",
    "PatchSet",
    "Workspace",
    "cabinetry",
    "cmake_dir",
    "infer",
    "set_logging",
]


# cabinetry's module names (hifit.cabinetry.<name>) are forwarded, so that
# `import hifit as cabinetry` runs cabinetry notebooks. Imported on first use: they
# pull in uproot and plotting libraries.
def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        module = _LAZY[name]
        if module is None:
            return importlib.import_module(f".{name}", __name__)
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    if name in _CABINETRY_MODULES:
        return importlib.import_module(f".cabinetry.{name}", __name__)
    msg = f"module 'hifit' has no attribute {name!r}"
    raise AttributeError(msg)


def cmake_dir() -> str:
    """Folder holding ``hifitConfig.cmake``, for ``find_package(hifit)`` in C++."""
    from pathlib import Path

    return str(Path(__file__).parent / "lib" / "cmake" / "hifit")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _CABINETRY_MODULES)
