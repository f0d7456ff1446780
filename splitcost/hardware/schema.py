"""The one table of every device and link profile field.

Each :class:`Field` says its TOML key, what it holds, whether it is required, its bounds, and
its line in ``profiles/README.md``. The table drives the TOML reader (``catalog``), the check
that every figure cites a source, the profile writer (:func:`device_toml`, which ``splitcost
calibrate`` and the tests use) and the field list of ``profiles/README.md``
(:func:`fields_markdown`, compared with the README by a test).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from splitcost.hardware.runtimes import DEFAULT_FUSES
from splitcost.kinds import Runtime
from splitcost.units import Kind


class Holds(StrEnum):
    """What a field's value is."""

    TEXT = "text"
    INTEGER = "integer"  # schema version
    QUANTITY = "quantity"  # a number with a unit (Field.unit), or a bare number in base units
    FRACTION = "fraction"  # a plain number in (0, 1]
    ERROR = "error"  # a relative error band: a plain number in (0, 1)
    FLAG = "flag"  # true or false
    RULES = "rules"  # a list of fusion rules such as ["conv+norm", "conv+activation"]


@dataclass(frozen=True)
class Field:
    """One field of a profile file."""

    key: str  # dotted TOML path: "memory.total"
    holds: Holds
    help: str  # one line, for profiles/README.md
    required: bool = True
    unit: Kind | None = None  # for quantities
    allow_zero: bool = False
    cited: bool = True  # a figure: it must have a [sources] entry when present
    write_unit: str = ""  # the unit of the comment the writer puts beside the base-unit value
    # in base units: below it a value is a typo, not hardware (efficiencies go as low as a
    # calibration fits them: a memory-bound class can reach 0.1% of the FLOP peak)
    floor: float | None = None

    @property
    def table(self) -> str:
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition(".")[2]


_Q = Holds.QUANTITY

# The runtimes a device profile may describe besides PyTorch eager ([compute]), each in a
# [runtime.NAME] table of the same shape.
RUNTIME_SECTIONS = tuple(r.value for r in Runtime if r is not Runtime.EAGER)
_REQUIRED_CLASSES = ("conv", "depthwise", "matmul", "elementwise", "pool")
_CLASS_HELP = {
    "conv": "dense convolution with a spatial kernel",
    "depthwise": "depthwise convolution (and grouped, without a grouped figure)",
    "matmul": "linear, matmul, attention (and recurrent, without a recurrent figure)",
    "elementwise": "pointwise, normalisation, softmax, copies",
    "pool": "pooling, reductions",
    "memory": "fraction of memory bandwidth achieved by memory-bound operators",
    "pointwise": "dense 1x1 convolution (absent: conv's)",
    "grouped": "grouped convolution (absent: depthwise's)",
    "recurrent": "fused RNN/LSTM/GRU kernels (absent: matmul's)",
}


def _efficiencies(table: str, prefix: str, required: bool = True) -> tuple[Field, ...]:
    out = []
    for cls in (*_REQUIRED_CLASSES, "memory", "pointwise", "grouped", "recurrent"):
        must = required and cls in (*_REQUIRED_CLASSES, "memory")
        out.append(Field(f"{table}.{cls}", Holds.FRACTION, prefix + _CLASS_HELP[cls],
                         required=must, floor=1e-6))
    return tuple(out)



def _runtime_fields(runtime: str) -> tuple[Field, ...]:
    """A [runtime.NAME] table: optional as a whole; once present, op_overhead and the five
    required efficiencies with memory's must be there (the reader checks)."""
    t = f"runtime.{runtime}"
    return (
        Field(f"{t}.op_overhead", _Q, f"{runtime}: fixed cost per kernel it launches",
              required=False, unit=Kind.TIME, allow_zero=True, write_unit="us"),
        Field(f"{t}.overlap", Holds.FLAG, f"{runtime}: the host enqueues kernels while the "
              "device computes (default false)", required=False, cited=False),
        Field(f"{t}.fuses", Holds.RULES, f"{runtime}: its fusion rules, e.g. [\"conv+norm\", "
              "\"conv+activation\"] (absent: the runtime's defaults, hardware/runtimes.py)",
              required=False),
        Field(f"{t}.latency_error", Holds.ERROR, f"{runtime}: validated relative error of the "
              "latency model", required=False),
        *_efficiencies(f"{t}.efficiency", f"{runtime}: ", required=False),
    )

DEVICE_FIELDS: tuple[Field, ...] = (
    Field("schema", Holds.INTEGER, "schema version of the file (1)", required=False, cited=False),
    Field("name", Holds.TEXT, "must equal the file's stem", cited=False),
    Field("title", Holds.TEXT, "what the device is, for reports", cited=False),
    Field("role", Holds.TEXT, "edge or server", cited=False),
    Field("summary", Holds.TEXT, "one line a listing prints (default: the title)",
          required=False, cited=False),
    Field("memory.total", _Q, "physical memory (for a GPU server: the GPU's memory)",
          unit=Kind.BYTES, floor=1e4),
    Field("memory.usable", _Q, "what applications may allocate: total minus OS, desktop, "
          "carve-outs", unit=Kind.BYTES, floor=1e4),
    Field("memory.runtime_overhead", _Q, "per process running a network: CUDA context, "
          "framework libraries", unit=Kind.BYTES, allow_zero=True),
    Field("memory.bandwidth", _Q, "DRAM bandwidth", unit=Kind.BYTE_RATE, write_unit="GB/s",
          floor=1e6),
    Field("memory.cache_size", _Q, "with cache_bandwidth: an operator moving at most this many "
          "bytes streams at the cache's rate", required=False, unit=Kind.BYTES, floor=1e3),
    Field("memory.cache_bandwidth", _Q, "bandwidth from the cache", required=False,
          unit=Kind.BYTE_RATE, write_unit="GB/s", floor=1e6),
    Field("compute.fp32", _Q, "peak FP32 rate, FLOP = 2 x MAC", unit=Kind.FLOP_RATE,
          write_unit="GFLOP/s", floor=1e6),
    Field("compute.fp16", _Q, "peak FP16 rate (absent: no faster FP16 path)", required=False,
          unit=Kind.FLOP_RATE, write_unit="GFLOP/s", floor=1e6),
    Field("compute.bf16", _Q, "peak BF16 rate (absent: no BF16 arithmetic)", required=False,
          unit=Kind.FLOP_RATE, write_unit="GFLOP/s", floor=1e6),
    Field("compute.int8", _Q, "peak INT8 rate (OP/s)", required=False, unit=Kind.FLOP_RATE,
          write_unit="GFLOP/s", floor=1e6),
    Field("compute.tf32", _Q, "peak TF32 tensor-core rate: the FP32 convolutions (eager) or "
          "convolutions and matmuls (TensorRT) run there (absent: no TF32 path)",
          required=False, unit=Kind.FLOP_RATE, write_unit="GFLOP/s", floor=1e6),
    Field("compute.op_overhead", _Q, "PyTorch eager: fixed cost per operator (dispatch, kernel "
          "launch)", unit=Kind.TIME, allow_zero=True, write_unit="us"),
    Field("compute.overlap", Holds.FLAG, "PyTorch eager: the host issues operators while the "
          "device computes earlier ones (a GPU; default false: a CPU)", required=False,
          cited=False),
    Field("compute.latency_error", Holds.ERROR, "PyTorch eager: validated relative error of the "
          "latency model (the reports' likely range)", required=False),
    *_efficiencies("compute.efficiency", "PyTorch eager: achieved fraction of peak: "),
    *(f for runtime in RUNTIME_SECTIONS for f in _runtime_fields(runtime)),
    Field("power.active", _Q, "board power while computing", required=False, unit=Kind.POWER,
          write_unit="W", floor=1e-3),
    Field("power.idle", _Q, "board power while idle or waiting on the radio", required=False,
          unit=Kind.POWER, allow_zero=True, write_unit="W"),
)

LINK_FIELDS: tuple[Field, ...] = (
    Field("schema", Holds.INTEGER, "schema version of the file (1)", required=False, cited=False),
    Field("name", Holds.TEXT, "must equal the file's stem", cited=False),
    Field("title", Holds.TEXT, "what the link is, for reports", cited=False),
    Field("summary", Holds.TEXT, "one line a listing prints (default: the title)",
          required=False, cited=False),
    Field("bandwidth", _Q, "median uplink rate, edge -> server", unit=Kind.RATE,
          write_unit="Mbit/s", floor=100.0),
    Field("downlink", _Q, "server -> edge (the results); default: the uplink", required=False,
          unit=Kind.RATE, write_unit="Mbit/s", floor=100.0),
    Field("rtt", _Q, "round-trip time", unit=Kind.TIME, allow_zero=True, write_unit="ms"),
    Field("efficiency", Holds.FRACTION, "goodput / bandwidth: protocol overhead (1.0 when the "
          "rate is already application-level)", floor=1e-2),
    Field("bandwidth_p10", _Q, "10th percentile of the uplink (the slow tail)", required=False,
          unit=Kind.RATE, write_unit="Mbit/s", floor=100.0),
    Field("bandwidth_p90", _Q, "90th percentile of the uplink", required=False, unit=Kind.RATE,
          write_unit="Mbit/s", floor=100.0),
    Field("energy.per_bit", _Q, "radio energy per bit sent (with [energy])", required=False,
          unit=Kind.ENERGY_PER_BIT, allow_zero=True, write_unit="nJ/bit"),
    Field("energy.base_power", _Q, "radio power while sending, on top of per_bit",
          required=False, unit=Kind.POWER, allow_zero=True, write_unit="W"),
    Field("energy.tail", _Q, "energy of the radio's tail after a burst from idle",
          required=False, unit=Kind.ENERGY, allow_zero=True, write_unit="J"),
)


def cited(fields: Iterable[Field], values: Mapping[str, Any]) -> list[str]:
    """The keys of the figures present in ``values`` that must name a source."""
    return [f.key for f in fields if f.cited and values.get(f.key) is not None]


# --- writing ------------------------------------------------------------------------------------

_SCALE = {"GB/s": 1e9, "GFLOP/s": 1e9, "us": 1e-6, "ms": 1e-3, "W": 1.0, "Mbit/s": 1e6,
          "nJ/bit": 1e-9, "J": 1.0}


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(text, ensure_ascii=False)


def _value(f: Field, value: Any) -> str:
    if f.holds is Holds.TEXT:
        return _q(str(value))
    if f.holds is Holds.INTEGER:
        return str(int(value))
    if f.holds in (Holds.FRACTION, Holds.ERROR):
        return repr(float(value))
    if f.holds is Holds.FLAG:
        return "true" if value else "false"
    if f.holds is Holds.RULES:
        return "[" + ", ".join(_q(str(v)) for v in value) + "]"
    # Base units, exactly (a bare TOML number is read in base units), and the figure in its
    # usual unit beside it for the reader.
    number = float(value)
    exact = str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    if f.write_unit:
        return f"{exact}  # {number / _SCALE[f.write_unit]:.4g} {f.write_unit}"
    return exact


def profile_toml(fields: Iterable[Field], values: Mapping[str, Any],
                 sources: Mapping[str, Mapping[str, str]], header: str = "") -> str:
    """The text of a profile file: ``values`` by dotted key (None or absent: not written), each
    table in the schema's order, then ``[sources]`` for every cited figure written."""
    lines = [f"# {header}"] if header else []
    current = None
    for f in fields:
        value = values.get(f.key)
        if value is None:
            continue
        if f.table != current:
            if f.table:
                lines += ["", f"[{f.table}]"]
            current = f.table
        lines.append(f"{f.name} = {_value(f, value)}")
    lines += ["", "[sources]"]
    for key in cited(fields, values):
        src = sources[key]
        lines.append(f"{_q(key)} = {{ kind = {_q(src['kind'])}, ref = {_q(src['ref'])}, "
                     f"note = {_q(src.get('note', ''))} }}")
    return "\n".join(lines) + "\n"


def device_values(d: Any) -> dict[str, Any]:
    """A :class:`~splitcost.hardware.device.Device` as the schema's values."""
    eff = asdict(d.efficiency)
    values: dict[str, Any] = {
        "schema": 1, "name": d.name, "title": d.title, "role": d.role, "summary": d.summary,
        "memory.total": d.memory_total, "memory.usable": d.memory_usable,
        "memory.runtime_overhead": d.runtime_overhead, "memory.bandwidth": d.memory_bandwidth,
        "memory.cache_size": d.cache_bytes, "memory.cache_bandwidth": d.cache_bandwidth,
        "compute.op_overhead": d.op_overhead_s, "compute.latency_error": d.latency_error,
        "power.active": d.power_active_w, "power.idle": d.power_idle_w,
    }
    for precision, rate in d.peak_flops.items():
        values[f"compute.{precision}"] = rate
    for cls, value in eff.items():
        values[f"compute.efficiency.{cls}"] = value
    values["compute.overlap"] = d.overlap or None
    for runtime, section in d.runtimes.items():
        t = f"runtime.{runtime}"
        values[f"{t}.op_overhead"] = section.op_overhead_s
        values[f"{t}.overlap"] = section.overlap or None
        # The runtime's default rules are not written (a profile without fuses gets them).
        own = section.fuses != DEFAULT_FUSES[runtime] or f"{t}.fuses" in d.sources
        values[f"{t}.fuses"] = list(section.fuses) if own else None
        values[f"{t}.latency_error"] = section.latency_error
        for cls, value in asdict(section.efficiency).items():
            values[f"{t}.efficiency.{cls}"] = value
    return values


def device_toml(d: Any, header: str = "") -> str:
    """A device profile file for ``d``, with its sources."""
    sources = {k: asdict(v) for k, v in d.sources.items()}
    return profile_toml(DEVICE_FIELDS, device_values(d), sources, header)


def link_values(lk: Any) -> dict[str, Any]:
    energy = lk.energy
    return {
        "schema": 1, "name": lk.name, "title": lk.title, "summary": lk.summary,
        "bandwidth": lk.bandwidth_bps, "downlink": lk.downlink_bps, "rtt": lk.rtt_s,
        "efficiency": lk.efficiency, "bandwidth_p10": lk.bandwidth_p10_bps,
        "bandwidth_p90": lk.bandwidth_p90_bps,
        "energy.per_bit": None if energy is None else energy.per_bit_j,
        "energy.base_power": None if energy is None else energy.base_power_w,
        "energy.tail": None if energy is None else energy.tail_j,
    }


def link_toml(lk: Any, header: str = "") -> str:
    sources = {k: asdict(v) for k, v in lk.sources.items()}
    return profile_toml(LINK_FIELDS, link_values(lk), sources, header)


# --- the README's field list -----------------------------------------------------------------


def fields_markdown(fields: Iterable[Field]) -> str:
    """The Markdown table of the fields, as profiles/README.md lists them."""
    rows = ["| field | holds | required | meaning |", "| --- | --- | --- | --- |"]
    for f in fields:
        holds = f"{f.unit.value} ({f.holds})" if f.unit else str(f.holds)
        if f.floor is not None:
            holds += f", at least {f.floor:g}"
        rows.append(f"| `{f.key}` | {holds} | {'yes' if f.required else 'no'} | {f.help} |")
    return "\n".join(rows) + "\n"

