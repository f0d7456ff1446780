"""Markdown tables from a Grid (for READMEs, issues and notebooks)."""

from __future__ import annotations

from splitcost.render.cells import Grid


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def render(grid: Grid, verdict: str | None = None) -> str:
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
    if verdict:
        lines += [f"**{verdict}**", ""]
    lines += [f"{line}  " for line in grid.notes]
    return "\n".join(lines).rstrip() + "\n"
