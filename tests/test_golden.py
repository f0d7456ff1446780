"""Golden outputs, as torchinfo's tests keep them: the README's commands rendered as tables at
80, 100 and 120 columns, as Markdown and as JSON, compared with tests/data/golden/. Regenerate with
``make golden`` (SPLITCOST_UPDATE_GOLDEN=1) after a deliberate change, and read the diff.

The JSON taken before the house move (tests/data/premove/, splitcost 0.1) is the oracle that the
move changed no figure: every number in it is found, equal, in today's JSON.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from oracles.latency_model import LATENCY_MODEL

import splitcost
from splitcost.render.jsonout import envelope
from splitcost.render.registry import Format, RenderOptions, render, to_text

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
PREMOVE = DATA / "premove"


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SPLITCOST_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"no golden {name}: run `make golden`"
    assert text == path.read_text(), f"{name} differs from its golden copy"


def _report() -> Any:
    return splitcost.compare(splitcost.profile("efficientnet"), tasks=3, link="1gbps")


def _report_cut() -> Any:
    return splitcost.compare(splitcost.profile("resnet18"), tasks="3,2,3", link="lte",
                             cuts=["layer2"])


def _sweep() -> Any:
    return splitcost.sweep(splitcost.profile("resnet50"), link="lte")


def _plan() -> Any:
    return splitcost.plan(splitcost.profile("efficientnet"), tasks=3, devices=200, fps=5,
                          link="lte")


def _plan_int8() -> Any:
    return splitcost.plan(splitcost.profile("efficientnet"), tasks=3, devices=200, fps=5,
                          link="lte", payload_dtype="int8")


def _profile() -> Any:
    return splitcost.profile("efficientnet", training=True)  # as `splitcost profile` does


def _profile_resnet18() -> Any:
    return splitcost.profile("resnet18", training=True)


def _devices() -> Any:
    from splitcost.hardware.catalog import device_catalog

    return device_catalog()


def _links() -> Any:
    from splitcost.hardware.catalog import link_catalog

    return link_catalog()


# name -> (the result, the JSON kind): the README's commands.
CASES: dict[str, tuple[Callable[[], Any], str]] = {
    "report_efficientnet": (_report, "report"),
    "report_resnet18_cut": (_report_cut, "report"),
    "sweep_resnet50": (_sweep, "sweep"),
    "plan_efficientnet": (_plan, "plan"),
    "plan_efficientnet_int8": (_plan_int8, "plan"),
    "profile_efficientnet": (_profile, "profile"),
    "profile_resnet18": (_profile_resnet18, "profile"),
    "devices": (_devices, "devices"),
    "links": (_links, "links"),
}
TABLES = ("report_efficientnet", "sweep_resnet50", "plan_efficientnet", "profile_efficientnet")


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return {name: make() for name, (make, _) in CASES.items()}


def _json(result: Any) -> str:
    text = render(result, Format.JSON)
    assert isinstance(text, str)
    # The version changes with every release and the checkout's folder with every clone; the
    # figures must not.
    text = re.sub(r'"splitcost_version": "[^"]*"', '"splitcost_version": "X"', text)
    return text.replace(str(ROOT), "<checkout>") + "\n"


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("width", [80, 100, 120])
def test_table_golden(results: dict[str, Any], name: str, width: int) -> None:
    _check(f"{name}_{width}.txt", to_text(results[name], Format.TABLE, width))


@pytest.mark.parametrize("name", TABLES)
def test_json_golden(results: dict[str, Any], name: str) -> None:
    _check(f"{name}.json", _json(results[name]))


def test_profile_mobilenet_markdown() -> None:
    _check("profile_mobilenet.md", render(splitcost.profile("mobilenet"), Format.MARKDOWN,
                                         RenderOptions(depth=2)))


def test_profile_resnet18_markdown(results: dict[str, Any]) -> None:
    _check("profile_resnet18.md", render(results["profile_resnet18"], Format.MARKDOWN,
                                        RenderOptions(depth=2)))


# --- the move changed no figure ----------------------------------------------------------------

# Fields the move renamed: a path in the 0.1 JSON -> where the same number is now. Device
# figures took their units in their names; a task is now a dict with its classes.
RENAMED = (
    (r"^tasks\[(\d+)\]$", r"context.tasks[\1].classes"),
    (r"^(devices\[\d+\])\.(memory_total|memory_usable|runtime_overhead)$", r"\1.\2_bytes"),
    (r"^(devices\[\d+\])\.memory_bandwidth$", r"\1.memory_bandwidth_bytes_per_s"),
    (r"^(devices\[\d+\])\.cache_bandwidth$", r"\1.cache_bandwidth_bytes_per_s"),
)


def _leaves(x: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def _get(d: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(d, list) or i >= len(d):
                raise KeyError(path)
            d = d[i]
        else:
            if not isinstance(d, dict) or part not in d:
                raise KeyError(path)
            d = d[part]
    return d


def _find(new: dict[str, Any], path: str) -> Any:
    candidates = [re.sub(pattern, replacement, path) for pattern, replacement in RENAMED
                  if re.match(pattern, path)]
    candidates += [path, f"context.{path}"]
    for candidate in candidates:
        try:
            return _get(new, candidate)
        except KeyError:
            continue
    raise KeyError(path)


@pytest.mark.parametrize("name", sorted(p.stem for p in PREMOVE.glob("*.json")))
def test_the_move_changed_no_figure(results: dict[str, Any], name: str) -> None:
    old = json.loads((PREMOVE / f"{name}.json").read_text())
    _, kind = CASES[name]
    new = json.loads(json.dumps(envelope(kind, results[name].to_dict()), default=str))
    numbers = [(p, v) for p, v in _leaves(old)
               if isinstance(v, int | float) and not isinstance(v, bool)
               and not LATENCY_MODEL.search(p)]
    assert numbers
    for path, value in numbers:
        found = _find(new, path)
        assert isinstance(found, int | float) and math.isclose(found, value, rel_tol=1e-12), (
            f"{name}: {path} was {value}, is {found}")
