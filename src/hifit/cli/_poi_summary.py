"""The POI line under the `hifit fit` table: value and 68 % CL interval."""

from __future__ import annotations

from typing import Any


def poi_summary(result: Any, interval: Any | None, asimov: bool = False) -> str:
    """``mu = 1.234567 ± 0.456789 (68% CL, Hessian)``, or ``+up -down (68% CL,
    MINOS)`` when a valid MINOS ``interval`` of the POI is given; the same numbers
    and precision as the table above it."""
    i = result.labels.index(result.poi)
    head = f"{result.poi} = {result.bestfit[i]:.6f}"
    notes = ["Asimov data"] if asimov else []
    if result.fixed[i]:
        return " ".join([head, f"({', '.join(['fixed', *notes])})"])
    if interval is not None and interval.valid:
        errors = f"+{interval.upper:.6f} -{abs(interval.lower):.6f}"
        method = ["68% CL", "MINOS"]
        method += [f"{side} end at bound" for side in ("lower", "upper")
                   if getattr(interval, f"{side}_at_bound")]  # fmt: skip
    else:
        errors = f"± {result.uncertainty[i]:.6f}"
        method = ["68% CL", "Hessian"]
        if result.at_bound[i]:
            method.append("at bound, one-sided")
    return f"{head} {errors} ({', '.join(method + notes)})"
