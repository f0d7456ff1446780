"""Tasks and the ``--tasks`` syntax: ``3`` is three tasks of ten classes, ``3,2,3`` gives the
classes per task (FACES: age, gender, expression). No torch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from splitcost.errors import InputError

DEFAULT_CLASSES = 10
MAX_TASKS = 1000
MAX_CLASSES = 10**7
_FORM = "a number of tasks (3) or classes per task (3,2,3)"


@dataclass(frozen=True)
class Task:
    """One classification task."""

    classes: int
    name: str = ""


def _fail(message: str) -> InputError:
    return InputError(message, parameter="tasks")


def parse_tasks(value: object, default_classes: int = DEFAULT_CLASSES) -> list[Task]:
    """``3`` -> three tasks of ``default_classes``; ``"3,2,3"`` or ``[3, 2, 3]`` -> classes per
    task (FACES); a list of :class:`Task` is taken as it is."""
    if isinstance(value, bool) or not isinstance(value, int | str | Sequence):
        raise _fail(f"expected {_FORM}, got {type(value).__name__} {value!r}")
    if isinstance(value, int):
        return _n_tasks(value, default_classes)
    if not isinstance(value, str):
        items = list(value)
        if not items:
            raise _fail(f"is empty; expected {_FORM}")
        if all(isinstance(t, Task) for t in items):
            return [_task(t.classes, t.name) for t in items]
        if any(isinstance(c, bool) or not isinstance(c, int) for c in items):
            raise _fail(f"expected classes per task as integers, got {value!r}")
        return [_task(c) for c in items]
    raw = value.strip()
    if not raw:
        raise _fail(f"is empty; expected {_FORM}")
    if len(raw) > 64 and "," not in raw:
        raise _fail(f"{raw[:20]}... ({len(raw)} characters) is not {_FORM}")
    if "," in raw:
        parts = [p.strip() for p in raw.split(",")]
        if any(not p.isdigit() for p in parts):
            raise _fail(f"expected classes per task as integers, e.g. 3,2,3, got {value!r}")
        if len(parts) > MAX_TASKS:
            raise _fail(f"at most {MAX_TASKS} tasks, got {len(parts)}")
        return [_task(_small_int(p)) for p in parts]
    if not raw.isdigit():
        raise _fail(f"expected {_FORM}, got {value!r}")
    return _n_tasks(_small_int(raw), default_classes)


def _small_int(digits: str) -> int:
    # Longer digit strings than any real count would still parse, slowly; refuse them first.
    if len(digits) > 9:
        raise _fail(f"{digits[:12]}{'...' if len(digits) > 12 else ''} is beyond any real count")
    return int(digits)


def _n_tasks(n: int, classes: int) -> list[Task]:
    if n < 1:
        raise _fail(f"at least one task is needed, got {n}")
    if n > MAX_TASKS:
        raise _fail(f"at most {MAX_TASKS} tasks, got {n}")
    return [_task(classes) for _ in range(n)]


def _task(classes: int, name: str = "") -> Task:
    if classes < 1:
        raise _fail(f"every task needs at least one class, got {classes}")
    if classes > MAX_CLASSES:
        raise _fail(f"{classes} classes is beyond any classifier")
    return Task(classes, name)
