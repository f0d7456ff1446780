"""JSON: the results' ``to_dict()`` in base units (bytes, seconds, bits/s)."""

from __future__ import annotations

import json
import math
from typing import Any


def _clean(value: Any) -> Any:
    """JSON has no infinity or NaN: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dumps(data: Any) -> str:
    return json.dumps(_clean(data), indent=2, allow_nan=False)
