"""Tables at any width: at 80, 100 and 120 columns the report shows every scenario's fits,
memory and total, each figure as it reads at 160 columns, and no line is longer than the width;
piped output is not wrapped at all."""

from __future__ import annotations

import re
from typing import Any

import pytest

import splitcost
from splitcost.cli import main
from splitcost.render.grid import Grid
from splitcost.render.registry import to_text
from splitcost.render.table import choose_columns, natural_widths
from splitcost.units import format_bytes, format_seconds

WANTED = ("Fits", "Edge memory", "Server memory", "Total")


@pytest.fixture(scope="module")
def report() -> Any:
    # Question 1 of the issue: 3 tasks on a Jetson Nano over LTE.
    return splitcost.compare(splitcost.profile("efficientnet"), tasks=3, link="lte")


def table_figures(text: str, names: list[str]) -> dict[str, dict[str, str]]:
    """Parse a rich table (header, rule, rows) into {scenario: {column: cell}}."""
    lines = text.splitlines()
    rule = next(i for i, ln in enumerate(lines) if ln and set(ln) == {"-"})  # the header rule
    header = lines[rule - 1]
    columns = re.split(r"\s{2,}", header.strip())
    out: dict[str, dict[str, str]] = {}
    for line in lines[rule + 1:]:
        name = line.split(" ", 1)[0]
        if name not in names or len(out) == len(names):
            break
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(columns), (line, header)
        out[name] = dict(zip(columns, cells, strict=True))
    return out


def block_figures(text: str, names: list[str]) -> dict[str, dict[str, str]]:
    """Parse the narrow layout: a scenario's name alone, then ``Column: figure`` pairs."""
    out: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        if line.strip() in names and not line.startswith(" "):
            current = line.strip()
            out[current] = {}
        elif current and line.startswith("  "):
            for pair in re.split(r"\s{3,}", line.strip()):
                column, _, value = pair.partition(": ")
                out[current][column] = value
        elif current:
            current = None
    return out


@pytest.mark.parametrize("width", [80, 100, 120])
def test_report_fits_every_width(report: Any, width: int) -> None:
    names = [s.name for s in report.scenarios]
    wide = table_figures(to_text(report, "table", 160), names)
    assert set(wide) == set(names)
    text = to_text(report, "table", width)
    assert max(len(line) for line in text.splitlines()) <= width
    narrow = block_figures(text, names) if width < 100 else table_figures(text, names)
    assert set(narrow) == set(names)
    for s in report.scenarios:
        for column in WANTED:
            assert narrow[s.name].get(column, "-") == wide[s.name][column], (s.name, column)
        # ... and each figure is what the result holds, in its units (MB = 1e6 bytes).
        assert narrow[s.name]["Total"] == format_seconds(s.total_s)
        if s.edge_memory is not None:
            assert narrow[s.name]["Edge memory"].startswith(format_bytes(s.edge_memory_bytes))
    if width >= 100:
        assert "Not shown at" in text or width >= 127


def test_nothing_is_cropped_in_any_table() -> None:
    """Whatever the width, a shown column is as wide as its widest cell."""
    grid = Grid("t", ("Name", "A long header", "B"), (("x", "1.23 GB (45%)", "9"),),
                right=(1, 2), priority=(0, 2, 1))
    assert choose_columns(grid, 200) == [0, 1, 2]
    assert natural_widths(grid) == [4, 13, 1]
    assert choose_columns(grid, 12) == [0, 2]  # the long column is left out, never cut
    assert choose_columns(Grid("t", ("N", "M"), (("x", "y"),), blocks_below=100), 10) == [0, 1]


def test_piped_output_is_not_wrapped(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    try:
        main(["report", "--link", "lte"])
    except SystemExit as e:
        assert not e.code
    out = capsys.readouterr().out
    verdict = next(line for line in out.splitlines() if "is the fastest scenario" in line)
    assert verdict.endswith(".") and len(verdict) > 160  # one sentence, one line
    monkeypatch.setenv("COLUMNS", "90")
    try:
        main(["report", "--link", "lte"])
    except SystemExit as e:
        assert not e.code
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 90
