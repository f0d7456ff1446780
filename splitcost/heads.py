"""Task heads as in the paper's code, and the ``--tasks`` syntax.

Each head is ``Linear(flat(Z_b) -> hidden) -> Dropout -> ReLU -> Linear(hidden -> classes)``
(MTL-Split, Sec. 4 and its code), hidden = 256 by default.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from splitcost.errors import InputError

if TYPE_CHECKING:
    from torch import nn

DEFAULT_CLASSES = 10
DEFAULT_HIDDEN = 256
DEFAULT_DROPOUT = 0.2
MAX_TASKS = 1000


@dataclass(frozen=True)
class Task:
    """One classification task."""

    classes: int
    name: str = ""


def parse_tasks(text: str | int | list[int], default_classes: int = DEFAULT_CLASSES) -> list[Task]:
    """``3`` -> three tasks of ``default_classes``; ``3,2,3`` -> classes per task (FACES)."""
    if isinstance(text, int):
        return _n_tasks(text, default_classes, str(text))
    if isinstance(text, list):
        return [_task(c, str(text)) for c in text]
    raw = text.strip()
    if not raw:
        raise InputError("--tasks is empty; expected a number of tasks (3) or classes per task "
                         "(3,2,3)")
    if "," in raw:
        parts = [p.strip() for p in raw.split(",")]
        if any(not p.isdigit() for p in parts):
            raise InputError(f"--tasks {text!r}: expected classes per task as integers, "
                             "e.g. 3,2,3")
        return [_task(int(p), repr(raw)) for p in parts]
    if not raw.isdigit():
        raise InputError(f"--tasks {text!r}: expected a number of tasks (3) or classes per task "
                         "(3,2,3)")
    return _n_tasks(int(raw), default_classes, repr(raw))


def _n_tasks(n: int, classes: int, text: str) -> list[Task]:
    if n < 1:
        raise InputError(f"--tasks {text}: at least one task is needed")
    if n > MAX_TASKS:
        raise InputError(f"--tasks {text}: at most {MAX_TASKS} tasks")
    return [_task(classes, text) for _ in range(n)]


def _task(classes: int, text: str) -> Task:
    if classes < 1:
        raise InputError(f"--tasks {text}: every task needs at least one class")
    if classes > 10**7:
        raise InputError(f"--tasks {text}: {classes} classes is beyond any classifier")
    return Task(classes)


def build_head(in_features: int, classes: int, hidden: int = DEFAULT_HIDDEN,
               dropout: float = DEFAULT_DROPOUT) -> nn.Module:
    """One task head, as the paper's code builds it."""
    from torch import nn

    return nn.Sequential(
        OrderedDict(
            [
                ("fc1", nn.Linear(in_features, hidden)),
                ("dropout", nn.Dropout(dropout)),
                ("relu", nn.ReLU()),
                ("fc2", nn.Linear(hidden, classes)),
            ]
        )
    )
