"""HTML tables from Grids, for notebooks (``_repr_html_``)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from splitcost.render.grid import Grid


def render(grid: Grid | Sequence[Grid]) -> str:
    if not isinstance(grid, Grid):
        return "\n".join(render(g) for g in grid)
    parts = [f"<div class=\"splitcost\"><p><strong>{escape(grid.title)}</strong></p>"]
    if grid.context:
        parts.append("<p style=\"color:#555\">" + "<br>".join(escape(c) for c in grid.context)
                     + "</p>")
    head = "".join(
        f"<th style=\"text-align:{'right' if i in grid.right else 'left'}\">{escape(c)}</th>"
        for i, c in enumerate(grid.columns))
    body = []
    for r, row in enumerate(grid.rows):
        style = (" style=\"font-weight:bold\"" if r in grid.bold_rows else
                 " style=\"color:#888\"" if r in grid.dim_rows else "")
        cells = "".join(
            f"<td style=\"text-align:{'right' if i in grid.right else 'left'};"
            f"white-space:nowrap\">{escape(c.strip())}</td>" for i, c in enumerate(row))
        body.append(f"<tr{style}>{cells}</tr>")
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
    if grid.verdict:
        parts.append(f"<p><strong>{escape(grid.verdict)}</strong></p>")
    if grid.notes:
        parts.append("<p style=\"color:#555;font-size:90%\">"
                     + "<br>".join(escape(n) for n in grid.notes) + "</p>")
    parts.append("</div>")
    return "".join(parts)
