"""Let every inference function take a pyhf ``Model`` where it takes a hifit one."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def accepts_pyhf_model(func: F) -> F:
    """Wrap ``func`` so that its ``model`` argument may be a pyhf Model (rebuilt
    through its spec by hifit.pyhf_workspace.as_hifit_model)."""
    signature = inspect.signature(func)
    if "model" not in signature.parameters:
        return func

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..pyhf_workspace import as_hifit_model

        bound = signature.bind_partial(*args, **kwargs)
        if "model" in bound.arguments:
            bound.arguments["model"] = as_hifit_model(bound.arguments["model"])
        return func(*bound.args, **bound.kwargs)

    return wrapper  # type: ignore[return-value]
