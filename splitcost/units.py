"""Parsing and formatting of quantities with explicit units.

Internally splitcost keeps bytes as ints and everything else in base SI units: seconds, bits per
second, bytes per second, FLOP/s, watts, joules. Text goes through this module both ways, so
that a report never prints an ambiguous ``MB``: ``MB`` is 10^6 bytes, ``MiB`` is 2^20 bytes, and
network rates are bits per second (``1gbps`` = 10^9 bit/s, as networks count).

No torch import here: the CLI parses its options before it decides whether torch is needed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from splitcost.errors import InputError


class Kind(StrEnum):
    """What a quantity measures; each kind has its own unit table."""

    BYTES = "bytes"
    RATE = "data rate"  # bits/s, also accepts bytes/s units
    BYTE_RATE = "memory bandwidth"  # bytes/s, also accepts bits/s units
    FLOP_RATE = "compute rate"
    TIME = "duration"
    POWER = "power"
    ENERGY = "energy"
    ENERGY_PER_BIT = "energy per bit"


_SI = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_IEC = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}


def _build_tables() -> dict[Kind, dict[str, float]]:
    """Unit spellings per kind, with the factor to the kind's base unit.

    Exact spellings are tried first; a case-insensitive match is accepted only when the lower-cased
    spelling is unambiguous within the kind (``gbps`` is always bits, ``MB/s`` vs ``Mb/s`` is not).
    """
    byte_units: dict[str, float] = {}
    for p, f in _SI.items():
        byte_units[f"{p}B"] = f
    for p, f in _IEC.items():
        byte_units[f"{p}B"] = f
    byte_units["bytes"] = 1.0
    byte_units["byte"] = 1.0

    bit_rate: dict[str, float] = {}
    for p, f in _SI.items():
        for suffix in ("bit/s", "bps", "b/s", "bits/s"):
            bit_rate[f"{p}{suffix}"] = f
    byte_rate: dict[str, float] = {}
    for p, f in _SI.items():
        byte_rate[f"{p}B/s"] = f
        byte_rate[f"{p}Bps"] = f
    for p, f in _IEC.items():
        byte_rate[f"{p}B/s"] = f
        bit_rate[f"{p}bit/s"] = f

    flop_rate: dict[str, float] = {}
    for p, f in _SI.items():
        for suffix in ("FLOP/s", "FLOPS", "flop/s", "OP/s", "OPS", "op/s"):
            flop_rate[f"{p}{suffix}"] = f

    time = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0}
    power = {"W": 1.0, "mW": 1e-3, "kW": 1e3}
    energy = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "nJ": 1e-9, "kJ": 1e3}
    energy_per_bit = {f"{u}/bit": f for u, f in energy.items()}
    energy_per_bit["pJ/bit"] = 1e-12

    rate_any = dict(bit_rate)
    rate_any.update({u: f * 8 for u, f in byte_rate.items()})
    bw_any = dict(byte_rate)
    bw_any.update({u: f / 8 for u, f in bit_rate.items()})
    return {
        Kind.BYTES: byte_units,
        Kind.RATE: rate_any,
        Kind.BYTE_RATE: bw_any,
        Kind.FLOP_RATE: flop_rate,
        Kind.TIME: time,
        Kind.POWER: power,
        Kind.ENERGY: energy,
        Kind.ENERGY_PER_BIT: energy_per_bit,
    }


_TABLES = _build_tables()


def _lower_tables() -> dict[Kind, dict[str, float | None]]:
    """Case-insensitive spellings; None marks a spelling that is ambiguous once lower-cased."""
    out: dict[Kind, dict[str, float | None]] = {}
    for kind, table in _TABLES.items():
        low: dict[str, float | None] = {}
        for unit, factor in table.items():
            if unit.endswith("Bps"):
                # Lower-cased, "bps" means bits ("54mbps"); bytes need the exact "MBps".
                continue
            key = unit.lower()
            if key in low and low[key] != factor:
                low[key] = None
            else:
                low[key] = factor
        out[kind] = low
    # Memory sizes are never in bits, so "gb" can only mean gigabytes.
    for unit, factor in _TABLES[Kind.BYTES].items():
        out[Kind.BYTES][unit.lower()] = factor
    return out


_LOWER = _lower_tables()

_EXAMPLES = {
    Kind.BYTES: "'2.5GB', '300 MiB' or '1048576' (bytes)",
    Kind.RATE: "'1gbps', '100 Mbit/s', '54mbps' or '12.5MB/s'",
    Kind.BYTE_RATE: "'25.6 GB/s'",
    Kind.FLOP_RATE: "'236 GFLOP/s'",
    Kind.TIME: "'100ms', '0.5 s' or '250us'",
    Kind.POWER: "'10 W' or '500 mW'",
    Kind.ENERGY: "'12 J' or '5 mJ'",
    Kind.ENERGY_PER_BIT: "'438 nJ/bit'",
}

_NUMBER = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[^\d\s].*?)?\s*$"
)


def parse_quantity(
    text: str | int | float, kind: Kind, *, allow_zero: bool = False, bare_number: bool = False
) -> float:
    """Parse ``text`` as a quantity of ``kind`` and return it in the kind's base unit.

    ``bare_number`` accepts a number without unit as already in base units (profile files);
    on the command line a rate or duration without a unit is refused as ambiguous.
    """
    if isinstance(text, bool):
        raise InputError(f"expected a {kind.value} such as {_EXAMPLES[kind]}, got {text!r}")
    if isinstance(text, int | float):
        if not bare_number:
            raise InputError(
                f"expected a {kind.value} with a unit such as {_EXAMPLES[kind]}, got {text!r}"
            )
        value = float(text)
        _check_range(value, kind, text, allow_zero)
        return value
    match = _NUMBER.match(text)
    if match is None:
        raise InputError(f"expected a {kind.value} such as {_EXAMPLES[kind]}, got {text!r}")
    number = float(match.group("num").replace("_", ""))
    unit = (match.group("unit") or "").strip()
    if not unit:
        if not bare_number and kind is not Kind.BYTES:
            raise InputError(
                f"expected a {kind.value} with a unit such as {_EXAMPLES[kind]}, got {text!r}"
            )
        factor = 1.0
    else:
        factor_or_none = _unit_factor(unit, kind)
        if factor_or_none is None:
            raise InputError(
                f"unknown or ambiguous unit {unit!r} for a {kind.value}: use a form such as "
                f"{_EXAMPLES[kind]}"
            )
        factor = factor_or_none
    value = number * factor
    _check_range(value, kind, text, allow_zero)
    return value


def _unit_factor(unit: str, kind: Kind) -> float | None:
    table = _TABLES[kind]
    if unit in table:
        return table[unit]
    return _LOWER[kind].get(unit.lower())


# Beyond these, a value is a typo, not a device: an exabyte of memory, a petabit link, a day-long
# operator.
_LIMITS = {
    Kind.BYTES: 2.0**60,
    Kind.RATE: 1e15,
    Kind.BYTE_RATE: 1e15,
    Kind.FLOP_RATE: 1e19,
    Kind.TIME: 86_400.0,
    Kind.POWER: 1e6,
    Kind.ENERGY: 1e6,
    Kind.ENERGY_PER_BIT: 1.0,
}


# Below these, a positive value is a typo too: a link slower than 100 bit/s moves nothing a
# network sends (and prices into 70-digit cells).
_FLOORS = {Kind.RATE: 100.0}


def _check_range(value: float, kind: Kind, text: object, allow_zero: bool) -> None:
    if not math.isfinite(value):
        raise InputError(f"expected a finite {kind.value}, got {text!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise InputError(f"expected a {kind.value} of {bound}, got {text!r}")
    if value > _LIMITS[kind]:
        raise InputError(f"{text!r} is beyond any real {kind.value}; expected a form such as "
                         f"{_EXAMPLES[kind]}")
    floor = _FLOORS.get(kind)
    if floor is not None and 0 < value < floor:
        raise InputError(f"{text!r} is below any real {kind.value} (at least {floor:g} bit/s); "
                         f"expected a form such as {_EXAMPLES[kind]}")


def parse_bytes(text: str | int | float, *, allow_zero: bool = False) -> int:
    """Bytes as an int (``'2.5GB'`` -> 2_500_000_000; a bare number is bytes)."""
    return round(parse_quantity(text, Kind.BYTES, allow_zero=allow_zero, bare_number=True))


def parse_rate(text: str | int | float) -> float:
    """A network data rate in bits per second (``'1gbps'`` -> 1e9, ``'12.5MB/s'`` -> 1e8)."""
    return parse_quantity(text, Kind.RATE)


def parse_duration(text: str | int | float, *, allow_zero: bool = False) -> float:
    """A duration in seconds (``'100ms'`` -> 0.1)."""
    return parse_quantity(text, Kind.TIME, allow_zero=allow_zero)


# --- shapes -----------------------------------------------------------------------------------

_DTYPES = (
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)
_DTYPE_ALIASES = {
    "float": "float32",
    "fp32": "float32",
    "half": "float16",
    "fp16": "float16",
    "bf16": "bfloat16",
    "double": "float64",
    "long": "int64",
    "int": "int32",
}
DTYPE_BYTES = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float64": 8,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
}


@dataclass(frozen=True)
class InputSpec:
    """The network's input, batch excluded: ``3x224x224``, ``128:int64`` (128 token ids), or
    several inputs, ``3x224x224,128:int64`` (the first one's shape and dtype, then ``more``)."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    more: tuple[InputSpec, ...] = ()  # the inputs after the first, each without ``more``

    @property
    def all(self) -> tuple[InputSpec, ...]:
        """Every input, in the order the network's forward takes them."""
        return (InputSpec(self.shape, self.dtype), *self.more)

    def __str__(self) -> str:
        text = "x".join(str(d) for d in self.shape)
        first = text if self.dtype == "float32" else f"{text}:{self.dtype}"
        return ",".join([first, *(str(m) for m in self.more)])


_SHAPE_FORM = ("a shape such as 3x224x224 (batch excluded), optionally with a dtype (128:int64 "
               "for 128 token ids); several inputs separated by commas (3x224x224,128:int64)")
MAX_INPUTS = 16


def parse_dtype(text: str) -> str:
    """A dtype name as torch spells it (``fp16`` -> ``float16``)."""
    key = text.strip().lower()
    key = _DTYPE_ALIASES.get(key, key)
    if key not in _DTYPES:
        raise InputError(f"unknown dtype {text!r}; expected one of {', '.join(_DTYPES)}")
    return key


def parse_input(text: str) -> InputSpec:
    """Parse ``3x224x224``, ``128:int64`` or ``3x224x224,128:int64`` into an InputSpec."""
    if not isinstance(text, str):
        raise InputError(f"expected {_SHAPE_FORM}, got {type(text).__name__} {text!r}")
    if len(text) > 400:
        raise InputError(f"expected {_SHAPE_FORM}, got {len(text)} characters")
    parts = [p for p in text.split(",")]
    if len(parts) > MAX_INPUTS:
        raise InputError(f"at most {MAX_INPUTS} inputs, got {len(parts)}")
    if len(parts) > 1 and all(re.fullmatch(r"\s*\d+\s*", p) for p in parts):
        raise InputError(f"commas separate inputs and x separates dimensions: write "
                         f"{'x'.join(p.strip() for p in parts)} for one input, or give each "
                         f"input its dtype (128:int64,128:int64); got {text!r}")
    specs = [_one_input(p, text) for p in parts]
    first = specs[0]
    return InputSpec(first.shape, first.dtype, tuple(specs[1:]))


def _one_input(part: str, text: str) -> InputSpec:
    raw = part.strip()
    dtype = "float32"
    if ":" in raw:
        raw, dtype_text = raw.split(":", 1)
        dtype = parse_dtype(dtype_text)
    dims_text = re.split(r"\s*[x×X]\s*", raw.strip()) if raw.strip() else []
    if not dims_text or any(not re.fullmatch(r"\d{1,12}", p) for p in dims_text):
        raise InputError(f"expected {_SHAPE_FORM}, got {text!r}")
    dims = tuple(int(p) for p in dims_text)
    if any(d <= 0 for d in dims):
        raise InputError(f"every dimension must be at least 1 in {text!r}; expected {_SHAPE_FORM}")
    if math.prod(dims) > 2**40:
        raise InputError(f"the input {text!r} has more than 2^40 elements per sample; too large")
    return InputSpec(dims, dtype)


# --- formatting -------------------------------------------------------------------------------


def _scaled(value: float, steps: list[tuple[float, str]], digits: int) -> str:
    for factor, unit in steps:
        if abs(value) >= factor:
            return f"{_sig(value / factor, digits)} {unit}"
    factor, unit = steps[-1]
    return f"{_sig(value / factor, digits)} {unit}"


def _sig(x: float, digits: int) -> str:
    """``digits`` significant digits, without trailing zeros or exponent notation."""
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_BYTES_SI = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")]
_BYTES_IEC = [(2.0**40, "TiB"), (2.0**30, "GiB"), (2.0**20, "MiB"), (2.0**10, "KiB"), (1.0, "B")]


def format_bytes(n: float, *, binary: bool = False, digits: int = 3) -> str:
    """``250880`` -> ``'251 kB'``; ``binary=True`` -> ``'245 KiB'``."""
    return _scaled(n, _BYTES_IEC if binary else _BYTES_SI, digits)


def format_rate(bps: float, digits: int = 3) -> str:
    """``1e9`` -> ``'1 Gbit/s'``."""
    steps = [(1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"), (1.0, "bit/s")]
    return _scaled(bps, steps, digits)


def format_flop_rate(flops: float, digits: int = 3) -> str:
    steps = [(1e15, "PFLOP/s"), (1e12, "TFLOP/s"), (1e9, "GFLOP/s"), (1e6, "MFLOP/s")]
    return _scaled(flops, steps, digits)


def format_seconds(s: float, digits: int = 3) -> str:
    """``0.0123`` -> ``'12.3 ms'``."""
    if s == 0:
        return "0 s"
    steps = [(1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")]
    if abs(s) >= 600:
        return f"{_sig(s / 60, digits)} min"
    return _scaled(s, steps, digits)


def format_count(n: float, digits: int = 3) -> str:
    """``4007548`` -> ``'4.01 M'`` (decimal multiples: k, M, G, T)."""
    steps = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
    for factor, unit in steps:
        if abs(n) >= factor:
            return f"{_sig(n / factor, digits)} {unit}"
    return f"{round(n):,}" if float(n).is_integer() else _sig(n, digits)


def format_energy(j: float, digits: int = 3) -> str:
    steps = [(1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ")]
    return _scaled(j, steps, digits) if j else "0 J"


def format_power(w: float, digits: int = 3) -> str:
    return _scaled(w, [(1e3, "kW"), (1.0, "W"), (1e-3, "mW")], digits)


def format_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"
