"""Markdown tables from Grids (for READMEs, issues and notebooks)."""

from __future__ import annotations

from collections.abc import Sequence

from splitcost.render.grid import Grid


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render(grid: Grid | Sequence[Grid], verdict: str | None = None) -> str:
    if not isinstance(grid, Grid):
        return "\n".join(render(g) for g in grid)
    lines = [f"### {grid.title}", ""]
    lines += [f"- {line}" for line in grid.context]
    if grid.context:
        lines.append("")
    lines.append("| " + " | ".join(grid.columns) + " |")
    lines.append(
        "| " + " | ".join("---:" if i in grid.right else "---" for i in range(len(grid.columns)))
        + " |"
    )
    for i, row in enumerate(grid.rows):
        cells = [_escape(c.strip()) for c in row]
        if i in grid.bold_rows:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    line = verdict or grid.verdict
    if line:
        lines += [f"**{line}**", ""]
    lines += [f"{note}  " for note in grid.notes]
    return "\n".join(lines).rstrip() + "\n"
