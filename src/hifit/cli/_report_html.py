"""HTML pieces shared by the report's sections: escaping, notes, tables, numbers."""

from __future__ import annotations

import html
from typing import Any


def esc(value: Any) -> str:
    return html.escape(str(value))


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def table(
    header: list[str], rows: list[list[Any]], classes: list[str] | None = None
) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f"<td>{esc(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def fmt(x: float | None) -> str:
    """A number to 4 decimals; None (a value that does not exist) as "none"."""
    return "none" if x is None else f"{x:.4f}"


def fmt_p(p: float | None) -> str:
    """A p-value: 4 significant digits, scientific notation when small."""
    return "none" if p is None else f"{p:.4g}"
