"""The Python API as the README shows it, run twice in one process (a notebook re-running a
cell): every public name stays callable, and the second run gives the same figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import splitcost

README = Path(__file__).parent.parent / "README.md"


def _snippet() -> str:
    text = README.read_text()
    section = text[text.index("## Python API"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python API section has no python block"
    return match.group(1)


def test_readme_snippet_runs_twice() -> None:
    code = compile(_snippet(), "README.md", "exec")
    runs: list[dict[str, Any]] = []
    for _ in range(2):
        scope: dict[str, Any] = {}
        exec(code, scope)
        runs.append(scope)
    first, second = runs
    assert first["r"].to_dict() == second["r"].to_dict()
    assert first["s"].best == second["s"].best
    assert first["f"].to_dict() == second["f"].to_dict()
    assert first["g"].to_dict() == second["g"].to_dict()


@pytest.mark.parametrize("name", ["profile", "compare", "sweep", "plan", "pricing_request",
                                  "to_text", "verdict", "load_device", "load_link", "grid"])
def test_public_functions_stay_functions(name: str) -> None:
    from importlib import import_module

    for module in ("splitcost.studies.sweep", "splitcost.studies.plan", "splitcost.studies.grid",
                   "splitcost.studies.compare", "splitcost.network.profiler"):
        import_module(module)  # what a first call imports
    assert callable(getattr(splitcost, name))
    from splitcost import sweep as imported_sweep

    assert callable(imported_sweep) and not isinstance(imported_sweep, type(splitcost))


def test_the_request_is_the_options() -> None:
    p = splitcost.profile("mobilenet")
    q = splitcost.pricing_request(p, tasks=2, link="lte")
    assert splitcost.compare(q).to_dict() == splitcost.compare(p, 2, link="lte").to_dict()
    with pytest.raises(splitcost.InputError, match="link"):
        splitcost.compare(q, link="wifi5")  # a request already holds its link


def test_a_number_is_bits_per_second() -> None:
    p = splitcost.profile("mobilenet")
    r = splitcost.compare(p, 2, link=6e6)
    assert r.link.bandwidth_bps == 6e6 and r.link.ideal
