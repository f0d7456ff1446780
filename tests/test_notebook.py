"""Results in a notebook: a one-line repr, Markdown and HTML tables, a DataFrame whose columns
are the JSON's figures, public plot methods, and the example notebook run end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import splitcost
from splitcost.render.registry import render

EXAMPLE = Path(__file__).parent.parent / "examples" / "notebook.ipynb"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    p = splitcost.profile("efficientnet")
    return {
        "profile": p,
        "report": splitcost.compare(p, tasks=3, link="lte"),
        "sweep": splitcost.sweep(p, tasks=3, link="lte"),
        "plan": splitcost.plan(p, tasks=3, devices=200, fps=5, link="lte"),
        "explore": splitcost.explore("efficientnet,resnet18", links="lte"),
    }


@pytest.mark.parametrize("name", ["profile", "report", "sweep", "plan", "explore"])
def test_one_line_repr(results: dict[str, Any], name: str) -> None:
    text = repr(results[name])
    assert "\n" not in text and len(text) < 200 and text.startswith("<")


def test_repr_says_the_answer(results: dict[str, Any]) -> None:
    r = results["report"]
    assert repr(r) == ("<Report efficientnet_b0, 3 tasks, jetson-nano-4gb -> lte -> rtx-3090: "
                       "MTL-Local 62.2 ms>")  # the Nano's eager profile
    assert repr(results["sweep"]).endswith("best cut for latency '6' 155 ms>")


@pytest.mark.parametrize("name", ["profile", "report", "sweep", "plan", "explore"])
def test_html_and_markdown(results: dict[str, Any], name: str) -> None:
    html = results[name]._repr_html_()
    assert html.count("<table>") >= 1 and "</table>" in html and "<script" not in html
    md = results[name]._repr_markdown_()
    assert md.startswith("### ") and "| ---" in md


@pytest.mark.parametrize("name", ["profile", "report", "sweep", "plan", "explore"])
def test_frame_holds_the_json_figures(results: dict[str, Any], name: str) -> None:
    pytest.importorskip("pandas")
    frame = results[name].to_frame()
    assert frame.columns.is_unique and len(frame) > 0
    body = json.loads(render(results[name], "json"))
    rows = {"profile": "modules", "report": "scenarios", "sweep": "cuts", "plan": "scenarios",
            "explore": "rows"}[name]
    assert len(frame) == len(body[rows])
    for i, row in enumerate(body[rows]):
        for column in frame.columns:
            if column in row and isinstance(row[column], int | float) and not isinstance(
                    row[column], bool):
                assert frame[column].iloc[i] == pytest.approx(row[column], rel=1e-12)


def test_frame_without_pandas(results: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(splitcost.InputError, match=r"pip install 'splitcost\[frame\]'"):
        results["report"].to_frame()


@pytest.mark.parametrize("name", ["report", "sweep", "plan", "explore"])
def test_plot_methods(results: dict[str, Any], name: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / f"{name}.svg"
    fig = results[name].plot(out)
    assert fig.axes and out.read_text().lstrip().startswith("<?xml")
    assert splitcost.figure(results[name]).axes


@pytest.mark.slow
def test_the_example_notebook_runs(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(EXAMPLE, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("splitcost report" in h for h in html)
    assert any("splitcost explore" in h for h in html)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # the three plots
