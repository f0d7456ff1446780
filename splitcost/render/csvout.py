"""CSV: one row per scenario, cut, module or profile, base units in the column names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any


def rows_to_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], dict):  # tensors: "1x64x56x56:float32 + ..."
            return " + ".join("x".join(map(str, v["shape"])) + f":{v['dtype']}" for v in value)
        return "x".join(str(v) for v in value)
    return value
