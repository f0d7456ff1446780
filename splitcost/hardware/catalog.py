"""Finding and loading device and link profiles: TOML files that cite their sources.

The files live in ``profiles/devices`` and ``profiles/links`` (shipped in the wheel), in folders
given with ``--profiles DIR``, and in the ``SPLITCOST_PROFILES`` folders. ``profiles/README.md``
documents the schema. A bare rate such as ``1gbps`` is an ideal link (efficiency 1, no RTT).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitcost._notebook import Notebook
from splitcost.errors import InputError, unknown_name
from splitcost.hardware.device import (
    PRECISIONS,
    SOURCE_KINDS,
    TF32,
    Device,
    Efficiency,
    RuntimeProfile,
    Source,
)
from splitcost.hardware.link import Link, RadioEnergy, ideal_link
from splitcost.hardware.runtimes import DEFAULT_FUSES, check_rule
from splitcost.hardware.schema import (
    DEVICE_FIELDS,
    LINK_FIELDS,
    RUNTIME_SECTIONS,
    Field,
    Holds,
    cited,
)
from splitcost.kinds import COMPUTE_CLASSES, OPTIONAL_CLASSES, Runtime
from splitcost.units import Kind, parse_quantity, parse_rate

# --- locating profile files -------------------------------------------------------------------


def shipped_dir() -> Path:
    """The profiles shipped with splitcost (inside the wheel, or the checkout's profiles/)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_profiles", package.parent / "profiles"):
        if (candidate / "devices").is_dir():
            return candidate
    return package / "_profiles"


def search_dirs(extra: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """``--profiles`` folders first, then ``SPLITCOST_PROFILES``, then the shipped ones."""
    if isinstance(extra, str | os.PathLike) or not isinstance(extra, Sequence):
        raise InputError(f"expected a list of folders, got {extra!r}", parameter="profiles")
    dirs = [Path(p) for p in extra]
    env = os.environ.get("SPLITCOST_PROFILES", "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    for d in dirs:
        shown = str(d) if len(str(d)) <= 120 else str(d)[:60] + "..." + str(d)[-40:]
        try:
            is_dir, is_file = d.is_dir(), d.is_file()
        except OSError as e:  # a path longer than the system allows, a loop of links
            raise InputError(f"profile folder {shown!r}: {e.strerror or e}",
                             parameter="profiles") from None
        if is_file:
            raise InputError(f"{shown!r} is a file; --profiles takes a folder of profiles (give "
                             "a profile file itself as --device FILE or --link FILE)",
                             parameter="profiles")
        if not is_dir:
            raise InputError(f"profile folder {shown!r} does not exist", parameter="profiles")
    return [*dirs, shipped_dir()]


def _files(kind: str, dirs: Iterable[Path]) -> dict[str, Path]:
    """name -> file for ``kind`` in ("devices", "links"); earlier folders win."""
    found: dict[str, Path] = {}
    for d in dirs:
        for sub in (d / kind, d):
            if not sub.is_dir():
                continue
            for f in sorted(sub.glob("*.toml")):
                if sub == d and not _file_is(kind, f):
                    continue
                found.setdefault(f.stem, f)
    return found


def _file_is(kind: str, path: Path) -> bool:
    """For a flat folder, tell a device file from a link file by its tables; a file that is
    not readable TOML is an error naming it (skipping it would hide the user's profile)."""
    data = _toml(path)
    return ("memory" in data) if kind == "devices" else ("bandwidth" in data)


def _toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables; a UTF-8 byte-order mark is accepted (editors on Windows write it)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, ValueError) as e:  # ValueError: a NUL byte or undecodable text
        reason = getattr(e, "strerror", None) or str(e).splitlines()[0]
        raise InputError(f"cannot read profile {str(path)!r}: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: not valid TOML: {e}") from None


def device_names(extra: Sequence[str | os.PathLike[str]] = ()) -> list[str]:
    return sorted(_files("devices", search_dirs(extra)))


def link_names(extra: Sequence[str | os.PathLike[str]] = ()) -> list[str]:
    return sorted(_files("links", search_dirs(extra)))


def _is_path(text: str) -> bool:
    return text.endswith(".toml") or os.sep in text or "/" in text


def _public(parameter: str, e: InputError) -> InputError:
    """An error of :func:`load_device` or :func:`load_link`, said of their own parameters."""
    if e.parameter == "profiles":
        return InputError(e.message, parameter="extra")
    return e.about(parameter)


def load_device(name: str, extra: Sequence[str | os.PathLike[str]] = ()) -> Device:
    """A device by name (``jetson-nano-4gb``) or by TOML path (``host.toml``)."""
    try:
        return find_device(name, extra)
    except InputError as e:
        raise _public("name", e) from None


def load_link(text: str, extra: Sequence[str | os.PathLike[str]] = ()) -> Link:
    """A link by name (``lte``), by TOML path, or a bare rate (``1gbps``: an ideal link)."""
    try:
        return find_link(text, extra)
    except InputError as e:
        raise _public("text", e) from None


def find_device(name: str, extra: Sequence[str | os.PathLike[str]] = ()) -> Device:
    """:func:`load_device`, its errors naming no parameter but ``profiles`` (the caller's)."""
    if not isinstance(name, str):
        raise InputError(f"expected a device name or profile file, got {name!r}")
    if _is_path(name):
        return _parse_device(Path(name))
    files = _files("devices", search_dirs(extra))
    if name not in files:
        raise unknown_name("device", name, files, "see 'splitcost devices'")
    return _parse_device(files[name])


def find_link(text: str, extra: Sequence[str | os.PathLike[str]] = ()) -> Link:
    """:func:`load_link`, its errors naming no parameter but ``profiles`` (the caller's)."""
    if not isinstance(text, str):
        raise InputError(f"expected a link name, a rate such as '1gbps', or a profile file, "
                         f"got {text!r}")
    if _is_path(text) and not text.strip().endswith("/s"):
        return _parse_link(Path(text))
    files = _files("links", search_dirs(extra))
    if text in files:
        return _parse_link(files[text])
    try:
        bps = parse_rate(text)
    except InputError as rate_error:
        near = [n for n in files if n.lower() == text.lower()]
        if near:
            return _parse_link(files[near[0]])
        if text.strip() and (text.strip()[0].isdigit() or text.strip()[0] in "+-."):
            raise InputError(f"{rate_error}, or a link name (see 'splitcost links')") from None
        raise unknown_name(
            "link", text, files, "or give a rate such as '1gbps', '100 Mbit/s' or '12.5MB/s'"
        ) from None
    return ideal_link(bps, text.strip())


# --- parsing ----------------------------------------------------------------------------------

_BASE = {Kind.BYTES: "bytes", Kind.RATE: "bit/s", Kind.BYTE_RATE: "bytes/s",
         Kind.FLOP_RATE: "FLOP/s", Kind.TIME: "s", Kind.POWER: "W", Kind.ENERGY: "J",
         Kind.ENERGY_PER_BIT: "J/bit"}


class _Fields:
    """Typed access to a TOML table that names the file and the field in every error."""

    def __init__(self, path: Path, data: Mapping[str, Any]):
        self.path = path
        self.data = data

    def error(self, key: str, message: str) -> InputError:
        return InputError(f"{self.path}: field '{key}': {message}")

    def raw(self, key: str, required: bool = True) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if required:
                    raise self.error(key, "missing")
                return None
            node = node[part]
        return node

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        return value

    def quantity(
        self, key: str, kind: Kind, required: bool = True, allow_zero: bool = False,
        floor: float | None = None,
    ) -> float | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(key, f"expected a {kind.value} such as '...', got {value!r}")
        try:
            # A TOML number is in base units; a string must say its unit ("55" is not 55 ms).
            bare = not isinstance(value, str)
            number = parse_quantity(value, kind, allow_zero=allow_zero, bare_number=bare)
        except InputError as e:
            raise self.error(key, str(e)) from None
        if floor is not None and number < floor and not (allow_zero and number == 0):
            raise self.error(key, f"{value!r} is below any real {kind.value}: at least "
                                  f"{floor:g} in base units ({_BASE[kind]})")
        return number

    def need(self, key: str, kind: Kind, allow_zero: bool = False) -> float:
        value = self.quantity(key, kind, True, allow_zero)
        assert value is not None
        return value

    def error_band(self, key: str, required: bool = False) -> float | None:
        """A relative error band: a plain number in (0, 1)."""
        value = self.raw(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                0 < float(value) < 1):
            raise self.error(key, f"expected a relative error between 0 and 1 (0.25 = +/-25%), "
                                  f"got {value!r}")
        return float(value)

    def flag(self, key: str) -> bool | None:
        value = self.raw(key, required=False)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def rules(self, key: str) -> tuple[str, ...] | None:
        value = self.raw(key, required=False)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of fusion rules such as [\"conv+norm\"], "
                                  f"got {value!r}")
        try:
            for v in value:
                check_rule(v)
        except InputError as e:
            raise self.error(key, str(e)) from None
        return tuple(v.strip() for v in value)

    def fraction(self, key: str, required: bool = True, default: float = 1.0,
                 floor: float | None = None) -> float:
        value = self.raw(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number between 0 and 1, got {value!r}")
        if not 0 < float(value) <= 1:
            raise self.error(key, f"expected a number in (0, 1], got {value!r}")
        if floor is not None and float(value) < floor:
            raise self.error(key, f"{value!r} is too close to zero to be real: at least "
                                  f"{floor:g}")
        return float(value)


def _read(path: Path) -> _Fields:
    fields = _Fields(path, _toml(path))
    schema = fields.raw("schema", required=False)
    if schema not in (None, 1):
        raise fields.error("schema", f"unsupported schema version {schema!r}; expected 1")
    name = fields.text("name")
    if name != path.stem:
        raise fields.error("name", f"{name!r} must equal the file's name {path.stem!r}")
    return fields


def _sources(f: _Fields, figures: Iterable[str]) -> dict[str, Source]:
    table = f.raw("sources", required=False) or {}
    if not isinstance(table, Mapping):
        raise f.error("sources", "expected a table of {kind, ref, note} entries")
    out: dict[str, Source] = {}
    for key, entry in table.items():
        where = f"sources.{key}"
        if not isinstance(entry, Mapping):
            raise f.error(where, "expected a table with 'kind' and 'ref'")
        kind = entry.get("kind")
        if kind not in SOURCE_KINDS:
            raise f.error(f"{where}.kind", f"expected one of {', '.join(SOURCE_KINDS)}")
        ref = entry.get("ref")
        if not isinstance(ref, str) or not ref.strip():
            raise f.error(f"{where}.ref", "missing: every figure must name its source")
        note = entry.get("note", "")
        out[str(key)] = Source(str(kind), ref, str(note))
    missing = [k for k in figures if k not in out]
    if missing:
        raise f.error(f"sources.{missing[0]}", "missing: every figure must name its source")
    return out


def _values(f: _Fields, fields: Sequence[Field]) -> dict[str, Any]:
    """Every field of the schema, parsed by what it holds (None: absent and optional)."""
    out: dict[str, Any] = {}
    for fld in fields:
        if fld.key in ("schema", "name"):
            continue  # checked by _read
        if fld.holds is Holds.TEXT:
            out[fld.key] = f.text(fld.key, fld.required, default="") or None
        elif fld.holds is Holds.QUANTITY:
            assert fld.unit is not None
            out[fld.key] = f.quantity(fld.key, fld.unit, fld.required, fld.allow_zero,
                                      fld.floor)
        elif fld.holds is Holds.FRACTION:
            out[fld.key] = f.fraction(fld.key, fld.required, floor=fld.floor) if (
                fld.required or f.raw(fld.key, False) is not None) else None
        elif fld.holds is Holds.ERROR:
            out[fld.key] = f.error_band(fld.key, fld.required)
        elif fld.holds is Holds.FLAG:
            out[fld.key] = f.flag(fld.key)
        elif fld.holds is Holds.RULES:
            out[fld.key] = f.rules(fld.key)
    return out


_CLASSES = (*COMPUTE_CLASSES, "memory", *OPTIONAL_CLASSES)


def _efficiency(f: _Fields, v: dict[str, Any], table: str) -> Efficiency:
    for cls in (*COMPUTE_CLASSES, "memory"):
        if v[f"{table}.{cls}"] is None:
            raise f.error(f"{table}.{cls}", "missing")
    return Efficiency(*(v[f"{table}.{c}"] for c in _CLASSES))


def _runtimes(f: _Fields, v: dict[str, Any]) -> dict[Runtime, RuntimeProfile]:
    """The [runtime.NAME] tables present (each complete)."""
    table = f.raw("runtime", required=False)
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise f.error("runtime", "expected tables such as [runtime.tensorrt]")
    unknown = [k for k in table if k not in RUNTIME_SECTIONS]
    if unknown:
        raise f.error(f"runtime.{unknown[0]}", f"unknown runtime; expected one of "
                                               f"{', '.join(RUNTIME_SECTIONS)}")
    out = {}
    for name in table:
        t = f"runtime.{name}"
        if v[f"{t}.op_overhead"] is None:
            raise f.error(f"{t}.op_overhead", "missing")
        runtime = Runtime(name)
        fuses = v[f"{t}.fuses"]
        out[runtime] = RuntimeProfile(
            runtime, _efficiency(f, v, f"{t}.efficiency"), v[f"{t}.op_overhead"],
            v[f"{t}.latency_error"], bool(v[f"{t}.overlap"]),
            DEFAULT_FUSES[runtime] if fuses is None else fuses)
    return out


def _parse_device(path: Path) -> Device:
    f = _read(path)
    v = _values(f, DEVICE_FIELDS)
    role = v["role"]
    if role not in ("edge", "server"):
        raise f.error("role", f"expected 'edge' or 'server', got {f.raw('role')!r}")
    total = round(v["memory.total"])
    usable = round(v["memory.usable"])
    overhead = round(v["memory.runtime_overhead"])
    if usable > total:
        raise f.error("memory.usable", f"{usable:,} bytes is more than memory.total ({total:,})")
    if overhead >= usable:
        raise f.error("memory.runtime_overhead", "must be less than memory.usable")
    cache_size, cache_bw = v["memory.cache_size"], v["memory.cache_bandwidth"]
    if (cache_size is None) != (cache_bw is None):
        missing = "memory.cache_bandwidth" if cache_bw is None else "memory.cache_size"
        raise f.error(missing, "missing: give the cache's size and bandwidth together")
    if not isinstance(f.raw("compute"), Mapping):
        raise f.error("compute", "expected a table")
    peaks = {p: v[f"compute.{p}"] for p in (*PRECISIONS, TF32)
             if v.get(f"compute.{p}") is not None}
    eff = _efficiency(f, v, "compute.efficiency")
    runtimes = _runtimes(f, v)
    return Device(
        name=f.text("name"),
        title=v["title"],
        role=role,
        summary=v["summary"] or v["title"],
        memory_total=total,
        memory_usable=usable,
        runtime_overhead=overhead,
        memory_bandwidth=v["memory.bandwidth"],
        peak_flops=peaks,
        efficiency=eff,
        op_overhead_s=v["compute.op_overhead"],
        power_active_w=v["power.active"],
        power_idle_w=v["power.idle"],
        latency_error=v["compute.latency_error"],
        sources=_sources(f, cited(DEVICE_FIELDS, v)),
        path=str(path),
        cache_bytes=None if cache_size is None else round(cache_size),
        cache_bandwidth=cache_bw,
        overlap=bool(v["compute.overlap"]),
        runtimes=runtimes,
    )


def _parse_link(path: Path) -> Link:
    f = _read(path)
    v = _values(f, LINK_FIELDS)
    bandwidth = v["bandwidth"]
    p10, p90 = v["bandwidth_p10"], v["bandwidth_p90"]
    if p10 is not None and p10 > bandwidth:
        raise f.error("bandwidth_p10", "must not exceed the median 'bandwidth'")
    if p90 is not None and p90 < bandwidth:
        raise f.error("bandwidth_p90", "must not be below the median 'bandwidth'")
    energy = None
    if f.raw("energy", required=False) is not None:
        if v["energy.per_bit"] is None:
            raise f.error("energy.per_bit", "missing: an [energy] table needs per_bit")
        energy = RadioEnergy(v["energy.per_bit"], v["energy.base_power"] or 0.0,
                             v["energy.tail"] or 0.0)
    return Link(
        name=f.text("name"),
        title=v["title"],
        summary=v["summary"] or v["title"],
        bandwidth_bps=bandwidth,
        rtt_s=v["rtt"],
        efficiency=v["efficiency"],
        downlink_bps=v["downlink"],
        bandwidth_p10_bps=p10,
        bandwidth_p90_bps=p90,
        energy=energy,
        sources=_sources(f, cited(LINK_FIELDS, v)),
        path=str(path),
    )


# --- the lists `splitcost devices` and `splitcost links` show -----------------------------------


@dataclass(frozen=True, repr=False)
class DeviceCatalog(Notebook):
    """Every device profile found, shipped ones and the user's."""

    devices: tuple[Device, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"context": {}, "devices": [
            {**d.to_dict(), "sources": d.sources_dict()} for d in self.devices]}


@dataclass(frozen=True, repr=False)
class LinkCatalog(Notebook):
    """Every link profile found, shipped ones and the user's."""

    links: tuple[Link, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"context": {}, "links": [
            {**lk.to_dict(), "sources": lk.sources_dict()} for lk in self.links]}


def device_catalog(extra: Sequence[str | os.PathLike[str]] = ()) -> DeviceCatalog:
    return DeviceCatalog(tuple(find_device(n, extra) for n in device_names(extra)))


def link_catalog(extra: Sequence[str | os.PathLike[str]] = ()) -> LinkCatalog:
    return LinkCatalog(tuple(find_link(n, extra) for n in link_names(extra)))
