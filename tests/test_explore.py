"""`splitcost explore` and :func:`splitcost.explore`: question 3 of the issue in one table, each
row against the report of the same configuration, the ImageNet accuracy against torchvision's
weights metadata, and the ranking and the Pareto front by hand."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest
import torchvision
from cli_run import run

import splitcost
from splitcost.errors import InputError
from splitcost.render.registry import to_text
from splitcost.studies.explore import backbone_names, explore

QUESTION = ["resnet18", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf"]
FIELDS = {"backbone", "device", "link", "tasks", "scenario", "feasible", "total_s",
          "imagenet_top1"}


@pytest.fixture(scope="module")
def answer() -> Any:
    return explore(",".join(QUESTION), devices="jetson-nano-4gb", links="wifi5,lte",
                   task_sets=[3], slo_s=0.1)


def top1(name: str) -> float:
    """The oracle: torchvision's metadata for the default weights."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    return float(weights.meta["_metrics"]["ImageNet-1K"]["acc@1"])


def test_question_three_in_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explore", "--backbone", ",".join(QUESTION), "--device",
                       "jetson-nano-4gb", "--link", "wifi5", "--tasks", "3", "--slo", "100ms")
    assert code == 0
    rules = [line for line in out.splitlines() if line and set(line) == {"-"}]  # header rules
    assert len(rules) == 2  # the ranked table and the Pareto front
    for name in QUESTION:
        assert name in out
    assert "meet the 100 ms SLO" in out and "ImageNet top-1" in out
    assert "not the accuracy on your tasks" in out
    code, out, _ = run(capsys, "explore", "--backbone", ",".join(QUESTION), "--device",
                       "jetson-nano-4gb", "--link", "wifi5", "--tasks", "3", "--slo", "100ms",
                       "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["kind"] == "explore" and d["slo_s"] == pytest.approx(0.1)
    rows = d["rows"]
    assert {r["backbone"] for r in rows} == set(QUESTION)
    for r in rows:
        assert set(r) >= FIELDS
        assert r["device"] == "jetson-nano-4gb" and r["link"] == "wifi5" and r["tasks"] == 3
        assert r["imagenet_top1"] == pytest.approx(top1(r["backbone"]))
        assert r["meets_slo"] == (r["total_s"] <= 0.1)
    for name in QUESTION:
        scenarios = [r["scenario"] for r in rows if r["backbone"] == name]
        assert scenarios[:4] == ["LoC", "MTL-Local", "RoC", "MTL-Split"]
    assert d["best"] in QUESTION


def test_each_row_is_the_report_of_its_configuration(answer: Any) -> None:
    profiles = {name: splitcost.profile(name) for name in QUESTION}
    for c in answer.configurations:
        cuts = [o.cut for o in c.options if o.kind.value == "Split"]
        r = splitcost.compare(profiles[c.backbone], tasks=3, device=c.device, link=c.link,
                              cuts=cuts, what_if=False)
        for o in c.options:
            s = r.scenario(o.scenario)
            assert o.total_s == pytest.approx(s.total_s, rel=1e-12)
            assert o.edge_memory_bytes == s.edge_memory_bytes
            assert o.feasible == s.feasible


def test_ranking_and_best_by_hand(answer: Any) -> None:
    rows = answer.rows()
    configs = {(r["backbone"], r["link"]) for r in rows}
    assert len(configs) == 8  # 4 backbones x 2 links
    fastest = {}
    for key in configs:
        ok = [r for r in rows if (r["backbone"], r["link"]) == key and r["feasible"]
              and r["total_s"] <= 0.1]
        fastest[key] = min((r["total_s"], r["scenario"]) for r in ok) if ok else None
    for c in answer.configurations:
        want = fastest[(c.backbone, c.link)]
        assert (c.best is None) == (want is None)
        if want:
            assert c.best == want[1]
    passing = sorted((v[0], k) for k, v in fastest.items() if v)
    assert [(c.backbone, c.link) for c in answer.passing] == [k for _, k in passing]
    assert answer.best == passing[0][1][0]


def test_pareto_front_by_hand(answer: Any) -> None:
    points = [(r["total_s"], r["edge_memory_bytes"], -r["imagenet_top1"], r["backbone"],
               r["link"], r["scenario"])
              for r in answer.rows() if r["feasible"] and r["total_s"] <= 0.1]

    def beaten(p: tuple[Any, ...]) -> bool:
        return any(all(q[i] <= p[i] for i in range(3)) and any(q[i] < p[i] for i in range(3))
                   for q in points)

    front = {p[3:] for p in points if not beaten(p)}
    got = {(answer.configurations[i].backbone, answer.configurations[i].link, name)
           for i, name in answer.pareto}
    assert got == front and front


def test_backbone_patterns() -> None:
    names = torchvision.models.list_models(module=torchvision.models)
    assert backbone_names("regnet_y_4*") == [n for n in names
                                              if fnmatch.fnmatchcase(n, "regnet_y_4*")]
    assert backbone_names("resnet18,resnet18, vgg16") == ["resnet18", "vgg16"]
    assert len(backbone_names("all")) > 50
    with pytest.raises(InputError, match="matches no torchvision classifier"):
        backbone_names("zz*")


def test_a_user_model_has_no_imagenet_accuracy() -> None:
    from models import chain

    ex = explore([splitcost.profile(chain(), (3, 8, 8))], links="lte", task_sets=[1, 2])
    assert {c.accuracy for c in ex.configurations} == {None}
    assert sorted(len(c.tasks) for c in ex.configurations) == [1, 2]
    assert all(r["imagenet_top1"] is None for r in ex.rows())
    assert "Sequential" in repr(ex) or "configurations" in repr(ex)
    text = to_text(ex, "table", 80)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_numbers_are_links_too() -> None:
    ex = explore("resnet18", links=[6e6, "lte"], task_sets=["3,2,3"])
    assert {c.link for c in ex.configurations} == {"6 Mbit/s", "lte"}
    assert {tuple(t.classes for t in c.tasks) for c in ex.configurations} == {(3, 2, 3)}
