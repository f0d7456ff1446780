"""A Profile (and everything in it) to JSON-ready values and back, exactly. No torch.

A frozen dataclass becomes the list of its fields' values in declaration order, an enum its
value, a tuple a list; floats survive JSON exactly (Python writes the shortest repr that reads
back to the same float). Decoding is driven by the type hints of the dataclasses: containers
and field counts are checked (a value of the wrong shape raises), numbers and strings are taken
as they are, because the cache checks a stored entry's digest before decoding it and
:func:`schema` (every class and field reached from the root type) is part of its key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

Decoder = Callable[[Any], Any]


class CodecError(ValueError):
    """Stored data that does not fit the types it should decode to."""


def encode(value: Any) -> Any:
    """``value`` as lists, dicts, strings and numbers (what ``json.dumps`` writes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [encode(getattr(value, f.name)) for f in dataclasses.fields(value)]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def _classes(root: type) -> list[type]:
    """Every dataclass reachable from ``root`` through its fields' types, root first."""
    seen: list[type] = []

    def visit(tp: Any) -> None:
        for arg in typing.get_args(tp):
            visit(arg)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp not in seen:
            seen.append(tp)
            for hint in typing.get_type_hints(tp).values():
                visit(hint)

    visit(root)
    return seen


def schema(root: type) -> str:
    """A digest of every class and field (name and type) a stored ``root`` is made of."""
    lines = []
    for cls in _classes(root):
        hints = typing.get_type_hints(cls)
        fields = ",".join(f"{f.name}:{hints[f.name]}" for f in dataclasses.fields(cls))
        lines.append(f"{cls.__module__}.{cls.__qualname__}({fields})")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def decoder(tp: Any) -> Decoder:
    """A function from encoded values back to ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return lambda v: v
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inner = decoder(options[0]) if len(options) == 1 else _first_of(options)
        return lambda v: None if v is None else inner(v)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = decoder(args[0])
            if item is _same:
                return lambda v: tuple(_list(v))
            return lambda v: tuple([item(x) for x in _list(v)])
        items = [decoder(a) for a in args]

        def fixed(v: Any) -> tuple[Any, ...]:
            values = _list(v)
            if len(values) != len(items):
                raise CodecError(f"expected {len(items)} values, got {len(values)}")
            return tuple(d(x) for d, x in zip(items, values, strict=True))

        return fixed
    if origin is list:
        item = decoder(args[0])
        return lambda v: [item(x) for x in _list(v)]
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        value = decoder(args[1]) if args else (lambda v: v)
        return lambda v: {str(k): value(x) for k, x in _dict(v).items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    if tp in (bool, int, float, str):
        return _same
    raise CodecError(f"no decoder for {tp!r}")


def _same(v: Any) -> Any:
    return v


def _dataclass(cls: type) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    n = len(fields)
    decoders: list[Decoder] = []
    plain: list[bool] = []

    def make(v: Any) -> Any:
        if type(v) is not list or len(v) != n:
            raise CodecError(f"{cls.__name__}: expected a list of {n} fields")
        if not decoders:  # built on first use: a class may refer to itself
            decoders.extend(decoder(hints[f.name]) for f in fields)
            plain.append(all(d is _same for d in decoders))
        if plain[0]:
            return cls(*v)
        return cls(*[d(x) for d, x in zip(decoders, v, strict=True)])

    return make


def _first_of(options: list[Any]) -> Decoder:
    decoders = [decoder(o) for o in options]

    def first(v: Any) -> Any:
        for d in decoders:
            try:
                return d(v)
            except (CodecError, TypeError, ValueError):
                continue
        raise CodecError(f"{v!r} is none of {options}")

    return first


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise CodecError(f"expected a list, got {type(v).__name__}")
    return v


def _dict(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise CodecError(f"expected an object, got {type(v).__name__}")
    return v
