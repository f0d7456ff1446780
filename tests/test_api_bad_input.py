"""The Python API's edges: every parameter of every public function, given a wrong type, an
empty value, a string where a sequence belongs or a value out of range, raises an
``InputError`` that names that parameter (never a raw TypeError, AttributeError or ValueError,
and never a silently wrong answer). A test fails when a public parameter has no row."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

import pytest
from torch import nn

import splitcost
from splitcost.errors import InputError

# The public functions (splitcost/__init__.py) and, for pricing_request's **options, the
# parameters it passes on.
FUNCTIONS = ("profile", "compare", "sweep", "plan", "pricing_request", "to_text", "verdict",
             "load_device", "load_link")
PRICING_OPTIONS = ("device", "server", "link", "memory_model", "payload_dtype",
                   "payload_compression", "input_dtype", "images", "hidden", "processes",
                   "profiles", "branch", "fan_out", "relay_link", "runtime")


@pytest.fixture(scope="module")
def small() -> splitcost.Profile:
    return splitcost.profile("resnet18", (3, 32, 32))


# (function, parameter, value, words in the message); "P" stands for the small profile.
ROWS: list[tuple[str, str, Any, str]] = []


def _rows(functions: tuple[str, ...], parameter: str, values: dict[str, tuple[Any, str]]
          ) -> None:
    for f in functions:
        for _, (value, words) in values.items():
            ROWS.append((f, parameter, value, words))


PRICED = ("compare", "sweep", "plan", "pricing_request")

_rows(("profile",), "backbone", {"int": (3, "name or an nn.Module"),
                                 "empty": ("", "is empty"), "unknown": ("efficentnet", "closest"),
                                 "list": (["resnet18"], "name or an nn.Module")})
_rows(PRICED, "backbone", {"int": (3, "name or an nn.Module"), "empty": ("", "is empty")})
_rows(("profile",), "input_shape", {"int": (224, "(3, 224, 224)"), "empty": ((), "(3, 224, 224)"),
                                    "float": ((3, 2.5, 2), "(3, 224, 224)"),
                                    "zero": ((3, 0, 8), "at least 1"),
                                    "text": ("3x", "3x224x224"), "none": (None, "(3, 224, 224)")})
_rows(("profile",), "batch", {"float": (2.5, "integer"), "zero": (0, "at least 1"),
                              "text": ("2", "integer"), "huge": (10**30, "at most"),
                              "bool": (True, "integer")})
_rows(("profile",), "whole", {"text": ("yes", "True or False")})
_rows(("profile",), "dtype", {"int8": ("int8", "float32"), "empty": ("", "float32"),
                              "type": (4, "float32")})
_rows(("profile",), "training", {"int": (1, "True or False")})
_rows(("profile",), "optimizer", {"lion": ("lion", "adamw"), "empty": ("", "adamw"),
                                  "type": (3, "adamw")})
_rows(("profile",), "frozen", {"string": ("layer1", "list of module path prefixes"),
                               "ints": ([1], "list of module path prefixes")})
_rows(("profile",), "backbone_args", {"string": ("depth=2", "NAME=VALUE"),
                                      "bad name": (["1x=2"], "identifier"),
                                      "no value": (["depth"], "NAME=VALUE"),
                                      "unknown": ({"nope": 1}, "raised TypeError")})
_rows(PRICED, "tasks", {"tuple of floats": ((3.0, 2.0), "integers"), "float": (3.0, "float"),
                        "empty": ([], "empty"), "empty text": ("", "empty"),
                        "zero": (0, "at least one"), "too many": (10**6, "at most"),
                        "long text": ("9" * 5000, "characters"), "dict": ({}, "got dict")})
_rows(PRICED, "device", {"int": (3, "device name"), "unknown": ("jetson", "closest"),
                         "empty": ("", "unknown device")})
_rows(PRICED, "server", {"int": (3, "server name"), "unknown": ("rtx", "closest"),
                         "empty list": ([], "server name")})
_rows(PRICED, "branch", {"int": (3, "cut name"), "empty": ("", "cut name"),
                         "unknown": ("layer9", "unknown cut")})
_rows(PRICED, "runtime", {"unknown": ("fused", "eager, tensorrt, onnxruntime"),
                          "no section": ("onnxruntime", "has no onnxruntime section"),
                          "int": (3, "eager")})
_rows(PRICED, "fan_out", {"unknown": ("broadcast", "unicast, relay"), "int": (3, "unicast")})
_rows(PRICED, "relay_link", {"unknown": ("wify", "closest"), "tiny": (1e-30, "below any real")})
_rows(PRICED, "link", {"tiny": (1e-30, "below any real"), "zero": (0, "more than zero"),
                       "nan": (float("nan"), "finite"), "list": ([1e9], "link name"),
                       "unknown": ("wify", "closest")})
_rows(PRICED, "memory_model", {"unknown": ("peak", "inference"), "int": (1, "inference")})
_rows(PRICED, "payload_dtype", {"unknown": ("int4", "float32"), "int": (8, "float32")})
_rows(PRICED, "payload_compression", {"small": (0.5, "at least 1"), "text": ("lots", "ratio"),
                                      "list": ([2], "ratio")})
_rows(PRICED, "input_dtype", {"unknown": ("png", "jpeg:RATIO"), "int": (8, "jpeg:RATIO")})
_rows(("compare", "pricing_request"), "images", {"float": (2.5, "integer"),
                                                 "zero": (0, "at least 1")})
_rows(PRICED, "hidden", {"float": (2.5, "integer"), "zero": (0, "at least 1"),
                         "huge": (10**9, "at most")})
_rows(("compare", "pricing_request"), "processes", {"unknown": ("many", "one, per-task")})
_rows(PRICED, "profiles", {"string": ("/tmp", "list of folders"),
                           "missing": (["/no/such/dir"], "does not exist")})
_rows(("compare", "plan"), "cuts", {"string": ("12", "list of cut names"),
                                    "unknown": (["layer9"], "unknown cut"),
                                    "ints": ([3], "cut name")})
_rows(("compare",), "what_if", {"text": ("no", "True or False")})
_rows(("sweep",), "depth", {"zero": (0, "at least 1"), "float": (1.5, "integer")})
_rows(("sweep",), "every_op", {"text": ("all", "True or False")})
_rows(("sweep",), "objective", {"unknown": ("speed", "latency"), "int": (1, "latency")})
_rows(("sweep",), "slo_s", {"zero": (0, "positive"), "text": ("100ms", "positive"),
                            "nan": (float("nan"), "positive")})
_rows(("sweep",), "max_payload_bytes", {"negative": (-1, "positive"), "text": ("1MB", "positive")})
_rows(("plan",), "devices", {"zero": (0, "at least 1"), "float": (2.5, "integer")})
_rows(("plan",), "fps", {"zero": (0, "positive"), "text": ("fast", "positive"),
                         "inf": (float("inf"), "positive")})
_rows(("plan",), "ingress_bps", {"zero": (0, "positive"), "text": ("10", "with a unit"),
                                 "tiny": ("1e-30bps", "below")})
_rows(("plan",), "max_batch", {"zero": (0, "at least 1"), "float": (2.5, "integer")})
_rows(("plan",), "max_queue_delay", {"text": ("fast", "duration"), "negative": (-1, "0 to 10 s"),
                                     "huge": (99, "0 to 10 s")})
_rows(("plan",), "slo", {"text": ("fast", "duration"), "zero": (0, "positive"),
                         "zero ms": ("0ms", "more than zero")})
_rows(("plan",), "concurrency", {"zero": (0, "at least 1"), "float": (1.5, "integer")})
_rows(("to_text",), "result", {"int": (3, "no view"), "name": ("mobilenet", "no view")})
_rows(("to_text",), "fmt", {"unknown": ("xml", "expected one of"), "int": (3, "expected one of")})
_rows(("to_text",), "width", {"zero": (0, "at least 40"), "float": (80.5, "integer")})
_rows(("verdict",), "result", {"int": (3, "Report, a Sweep or a Plan"),
                               "P": ("P", "Report, a Sweep or a Plan")})
_rows(("load_device",), "name", {"int": (3, "device name"), "empty": ("", "unknown device"),
                                 "unknown": ("jetson", "closest")})
_rows(("load_device", "load_link"), "extra", {"string": ("/tmp", "list of folders"),
                                              "missing": (["/no/such/dir"], "does not exist")})
_rows(("load_link",), "text", {"int": (3, "link name"), "tiny": ("1e-30bps", "below"),
                               "empty": ("", "unknown link")})


def _call(name: str, parameter: str, value: Any, small: splitcost.Profile) -> Any:
    fn: Callable[..., Any] = getattr(splitcost, name)
    value = small if value == "P" else value
    if name == "profile":
        args: dict[str, Any] = {"backbone": "resnet18", "input_shape": (3, 32, 32)}
        if parameter in ("frozen", "optimizer"):
            args["training"] = True
        if parameter == "backbone_args":
            args["backbone"] = "models:chain_factory"
            args["input_shape"] = (3, 8, 8)
        args[parameter] = value
        return fn(**args)
    if name in PRICED:
        args = {"backbone": small}
        args[parameter] = value
        return fn(**args)
    if name == "to_text":
        args = {"result": splitcost.compare(small, what_if=False)}
        args[parameter] = value
        return fn(**args)
    if name == "verdict":
        return fn(value)
    if name == "load_device":
        args = {"name": "jetson-nano-4gb"}
        args[parameter] = value
        return fn(**args)
    args = {"text": "lte"}
    args[parameter] = value
    return fn(**args)


@pytest.mark.parametrize(("name", "parameter", "value", "words"), ROWS,
                         ids=[f"{f}({p}={str(v)[:20]!r})" for f, p, v, _ in ROWS])
def test_bad_value_names_the_parameter(small: splitcost.Profile, name: str, parameter: str,
                                       value: Any, words: str) -> None:
    with pytest.raises(InputError) as e:
        _call(name, parameter, value, small)
    assert e.value.parameter == parameter, (e.value.parameter, str(e.value))
    assert words in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_every_public_parameter_has_a_row() -> None:
    covered = {(f, p) for f, p, _, _ in ROWS}
    missing = []
    for name in FUNCTIONS:
        for p in inspect.signature(getattr(splitcost, name)).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                missing += [f"{name}({o})" for o in PRICING_OPTIONS if (name, o) not in covered]
            elif (name, p.name) not in covered:
                missing.append(f"{name}({p.name})")
    assert not missing, missing


def test_the_issue_rows_that_were_silently_wrong(small: splitcost.Profile) -> None:
    """tasks=(3, 2) is classes per task, as "3,2" is; a module holding a lock is traced."""
    r = splitcost.compare(small, tasks=(3, 2), what_if=False)
    assert [t.classes for t in r.tasks] == [3, 2]

    class Locked(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.lock = threading.Lock()

        def forward(self, x: Any) -> Any:
            with self.lock:
                return self.fc(x)

    model = Locked()
    p = splitcost.profile(model, (4,))
    assert p.params == sum(q.numel() for q in model.parameters()) == 10
    assert p.macs == 8  # one sample: 4 x 2
    assert not model.lock.locked() and model.fc.weight.device.type == "cpu"
