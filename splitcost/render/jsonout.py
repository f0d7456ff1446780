"""JSON: one envelope for every result, base units inside.

``{"schema_version", "splitcost_version", "kind", "context": {backbone, tasks, device, server,
link, ...}, ...the result's fields}``: ``context`` has one shape across commands (empty where a
command has none), figures are in bytes, seconds and bits/s.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any

from splitcost._version import __version__

SCHEMA_VERSION = 2  # 1: before the envelope (splitcost 0.1)


def _clean(value: Any) -> Any:
    """JSON has no infinity or NaN: write them as null; enums as their word."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k.value if isinstance(k, Enum) else k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def envelope(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The result's ``to_dict()`` inside the envelope."""
    body = dict(data)
    context = body.pop("context", {})
    return {"schema_version": SCHEMA_VERSION, "splitcost_version": __version__, "kind": kind,
            "context": context, **body}


def dumps(data: Any) -> str:
    return json.dumps(_clean(data), indent=2, allow_nan=False)


def result_json(kind: str, result: Any) -> str:
    return dumps(envelope(kind, result.to_dict()))
