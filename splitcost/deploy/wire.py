"""The frame a split sends over a socket: a fixed header, a JSON header, then raw tensor bytes.

Layout (little-endian)::

    magic  b"SCSW" | version u16 | flags u16 (0) | header length u32 | body length u64
    JSON header (UTF-8): {"kind": ..., "meta": {...}, "tensors": [{"name", "shape", "dtype",
                          "encoding", "nbytes"[, "scale", "zero_point"]}, ...]}
    body: each tensor's bytes, in header order, nothing between them

Encodings match :mod:`splitcost.hardware.encoding`: ``float32``, ``float16``, ``bfloat16``, and
``int8`` (per-tensor affine: ``x ~ (q - zero_point) * scale``, a float32 scale and an int32 zero
point per tensor). A tensor decodes back to its ``dtype`` (float32 for a split's payload).

Decoding trusts nothing: the magic, the version, lengths that must add up, sizes with an upper
bound (checked before anything is allocated), the JSON's every field. Any violation raises
:class:`FrameError` with one line that says what was wrong.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

MAGIC = b"SCSW"
VERSION = 1
FIXED = struct.Struct("<4sHHIQ")
MAX_HEADER_BYTES = 1 << 20
MAX_BODY_BYTES = 1 << 30  # 1 GiB: 8x the FACES input (3x2835x3543 float32), refuses garbage
MAX_TENSORS = 4096
MAX_DIMS = 16
MAX_DIM_SIZE = 2**31 - 1  # torch's sizes are int64; a frame's never need more than int32
ENCODINGS = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class WireError(Exception):
    """A frame or connection problem, said in one line."""


class FrameError(WireError):
    """A malformed frame."""


class ConnectionLost(WireError):
    """The peer closed or reset the connection."""


class WireTimeout(WireError):
    """No data arrived within the socket's timeout."""


@dataclass(frozen=True)
class Frame:
    """A decoded frame: its kind, its metadata and its tensors (by name, in order)."""

    kind: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    tensors: Mapping[str, torch.Tensor] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "meta": dict(self.meta),
                "tensors": {k: list(v.shape) for k, v in self.tensors.items()}}


@dataclass(frozen=True)
class RawFrame:
    """A frame whose header is parsed and checked; the body is still bytes."""

    header: Mapping[str, Any]
    body: bytes | bytearray | memoryview
    size: int  # bytes on the wire, fixed header included

    @property
    def kind(self) -> str:
        return str(self.header["kind"])

    @property
    def meta(self) -> Mapping[str, Any]:
        meta: Mapping[str, Any] = self.header.get("meta", {})
        return meta


# --- encoding ------------------------------------------------------------------------------


def _raw_bytes(t: torch.Tensor) -> bytes:
    flat = t.detach().to("cpu").contiguous().reshape(-1)
    return bytes(flat.view(torch.uint8).numpy().data) if flat.numel() else b""


def quantize_int8(t: torch.Tensor) -> tuple[torch.Tensor, float, int]:
    """Per-tensor affine int8 over the tensor's range (zero included, so zero is exact)."""
    x = t.detach().float()
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise FrameError("int8 cannot encode a tensor that holds NaN or infinity")
    lo = min(float(x.min()), 0.0) if x.numel() else 0.0
    hi = max(float(x.max()), 0.0) if x.numel() else 0.0
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zero_point = int(max(-128, min(127, round(-128 - lo / scale))))
    q = torch.clamp(torch.round(x / scale) + zero_point, -128, 127).to(torch.int8)
    return q, float(scale), zero_point


@dataclass(frozen=True)
class Encoded:
    """Tensors turned into wire bytes, waiting for a header (so the costly part can be timed
    apart from the metadata that reports the timing)."""

    entries: tuple[dict[str, Any], ...]
    parts: tuple[bytes, ...]

    def frame(self, kind: str, meta: Mapping[str, Any] | None = None) -> bytes:
        header = json.dumps({"kind": kind, "meta": dict(meta or {}),
                             "tensors": list(self.entries)},
                            separators=(",", ":")).encode("utf-8")
        body_len = sum(len(p) for p in self.parts)
        return b"".join([FIXED.pack(MAGIC, VERSION, 0, len(header), body_len), header,
                         *self.parts])


def encode_tensors(tensors: Mapping[str, torch.Tensor] | Iterable[tuple[str, torch.Tensor]]
                   = (), encoding: str = "float32") -> Encoded:
    """Each tensor's bytes in ``encoding`` and its header entry."""
    if encoding not in ENCODINGS:
        raise FrameError(f"unknown encoding {encoding!r}; expected one of "
                         f"{', '.join(ENCODINGS)}")
    items = list(tensors.items()) if isinstance(tensors, Mapping) else list(tensors)
    entries: list[dict[str, Any]] = []
    parts: list[bytes] = []
    for name, t in items:
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise FrameError(f"tensor {name!r} is {dtype}; the wire carries floating tensors")
        entry: dict[str, Any] = {"name": name, "shape": list(t.shape), "dtype": dtype,
                                 "encoding": encoding}
        if encoding == "int8":
            q, scale, zero_point = quantize_int8(t)
            data = _raw_bytes(q)
            entry.update(scale=scale, zero_point=zero_point)
        else:
            data = _raw_bytes(t.to(DTYPES[encoding]))
        entry["nbytes"] = len(data)
        entries.append(entry)
        parts.append(data)
    return Encoded(tuple(entries), tuple(parts))


def encode(kind: str, tensors: Mapping[str, torch.Tensor] | Iterable[tuple[str, torch.Tensor]]
           = (), encoding: str = "float32", meta: Mapping[str, Any] | None = None) -> bytes:
    """One frame as bytes; each tensor is sent in ``encoding``."""
    return encode_tensors(tensors, encoding).frame(kind, meta)


# --- decoding ------------------------------------------------------------------------------


def parse_fixed(data: bytes | bytearray | memoryview, max_body: int = MAX_BODY_BYTES
                ) -> tuple[int, int]:
    """Check the fixed header; (JSON header length, body length). ``max_body`` bounds the
    body before anything is allocated for it (a server passes what its manifest allows)."""
    if len(data) < FIXED.size:
        raise FrameError(f"truncated frame: {len(data)} bytes, shorter than the "
                         f"{FIXED.size}-byte fixed header")
    magic, version, flags, header_len, body_len = FIXED.unpack_from(data)
    if magic != MAGIC:
        raise FrameError(f"not a splitcost frame: magic {bytes(magic)!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise FrameError(f"unsupported frame version {version}; this side speaks {VERSION}")
    if flags != 0:
        raise FrameError(f"unknown frame flags {flags:#x}")
    if not 0 < header_len <= MAX_HEADER_BYTES:
        raise FrameError(f"absurd JSON header length {header_len:,} bytes (at most "
                         f"{MAX_HEADER_BYTES:,})")
    if body_len > min(max_body, MAX_BODY_BYTES):
        raise FrameError(f"absurd body length {body_len:,} bytes (at most "
                         f"{min(max_body, MAX_BODY_BYTES):,})")
    return header_len, body_len


def parse_header(data: bytes | bytearray | memoryview, body_len: int) -> dict[str, Any]:
    """The JSON header, every field checked against the body's length."""
    try:
        header = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FrameError(f"frame header is not valid JSON: {e}") from None
    except RecursionError:
        raise FrameError("frame header nests too deeply") from None
    except ValueError as e:  # an integer literal longer than Python converts
        raise FrameError(f"frame header holds an absurd number: {str(e)[:80]}") from None
    if not isinstance(header, dict):
        raise FrameError("frame header is not a JSON object")
    if not isinstance(header.get("kind"), str) or not header["kind"]:
        raise FrameError("frame header has no 'kind'")
    if not isinstance(header.get("meta", {}), dict):
        raise FrameError("frame header 'meta' is not an object")
    entries = header.get("tensors", [])
    if not isinstance(entries, list) or len(entries) > MAX_TENSORS:
        raise FrameError(f"frame header 'tensors' must be a list of at most {MAX_TENSORS}")
    names: set[str] = set()
    total = 0
    for i, entry in enumerate(entries):
        total += _check_entry(i, entry, names)
    if total != body_len:
        raise FrameError(f"tensor lengths add up to {total:,} bytes but the body holds "
                         f"{body_len:,}")
    return header


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_entry(i: int, e: Any, names: set[str]) -> int:
    if not isinstance(e, dict):
        raise FrameError(f"tensor #{i} is not an object")
    name = e.get("name")
    if not isinstance(name, str) or not name or len(name) > 256 or name in names:
        raise FrameError(f"tensor #{i} has a missing, long or repeated name {_short(name)}")
    names.add(name)
    shape = e.get("shape")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMS
            or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= MAX_DIM_SIZE
                   for d in shape)):
        raise FrameError(f"tensor {name!r}: shape must be at most {MAX_DIMS} integers in "
                         f"[0, {MAX_DIM_SIZE}], got {_short(shape)}")
    if e.get("dtype") not in DTYPES:
        raise FrameError(f"tensor {name!r}: unknown dtype {_short(e.get('dtype'))}")
    encoding = e.get("encoding")
    if encoding not in ENCODINGS:
        raise FrameError(f"tensor {name!r}: unknown encoding {_short(encoding)}")
    numel = math.prod(shape)
    if numel * ENCODINGS[encoding] > MAX_BODY_BYTES:
        raise FrameError(f"tensor {name!r}: absurd shape {shape}")
    nbytes = e.get("nbytes")
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or \
            nbytes != numel * ENCODINGS[encoding]:
        raise FrameError(f"tensor {name!r}: {_short(nbytes)} bytes do not match shape {shape} "
                         f"in {encoding}")
    if encoding == "int8":
        scale, zp = e.get("scale"), e.get("zero_point")
        if isinstance(scale, bool) or not isinstance(scale, int | float) or \
                not math.isfinite(scale) or scale <= 0:
            raise FrameError(f"tensor {name!r}: int8 needs a positive finite scale, got "
                             f"{_short(scale)}")
        if isinstance(zp, bool) or not isinstance(zp, int) or not -128 <= zp <= 127:
            raise FrameError(f"tensor {name!r}: int8 zero point must be in [-128, 127], got "
                             f"{_short(zp)}")
    return nbytes


def decode_raw(data: bytes | bytearray | memoryview) -> RawFrame:
    """Check a whole frame held in memory; the body stays bytes."""
    header_len, body_len = parse_fixed(data)
    expected = FIXED.size + header_len + body_len
    if len(data) < expected:
        raise FrameError(f"truncated frame: {len(data):,} bytes of {expected:,}")
    if len(data) > expected:
        raise FrameError(f"frame has {len(data) - expected:,} bytes after its end")
    view = memoryview(data)
    header = parse_header(view[FIXED.size:FIXED.size + header_len], body_len)
    return RawFrame(header, view[FIXED.size + header_len:], expected)


def tensors_of(raw: RawFrame) -> dict[str, torch.Tensor]:
    """The tensors of a checked frame, each decoded to its ``dtype``."""
    out: dict[str, torch.Tensor] = {}
    offset = 0
    for e in raw.header.get("tensors", []):
        chunk = raw.body[offset:offset + e["nbytes"]]
        offset += e["nbytes"]
        out[e["name"]] = _tensor(e, chunk)
    return out


def _tensor(e: Mapping[str, Any], chunk: bytes | bytearray | memoryview) -> torch.Tensor:
    encoding, dtype = e["encoding"], DTYPES[e["dtype"]]
    wire_dtype = torch.int8 if encoding == "int8" else DTYPES[encoding]
    if len(chunk) == 0:
        return torch.empty(e["shape"], dtype=dtype)
    if sys.byteorder != "little":  # pragma: no cover - every supported host is little-endian
        raise FrameError("this host is big-endian; the wire is little-endian")
    flat = torch.frombuffer(bytearray(chunk), dtype=wire_dtype)
    if encoding == "int8":
        flat = (flat.float() - float(e["zero_point"])) * float(e["scale"])
    return flat.to(dtype).reshape(e["shape"])


def decode(data: bytes | bytearray | memoryview) -> Frame:
    """A whole frame from bytes; :class:`FrameError` for anything malformed."""
    raw = decode_raw(data)
    return Frame(raw.kind, dict(raw.meta), tensors_of(raw))


# --- sockets -------------------------------------------------------------------------------


def recv_exact(sock: socket.socket, n: int, *, start: bool = False) -> bytearray:
    """Exactly ``n`` bytes; :class:`ConnectionLost` or :class:`WireTimeout` otherwise."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        try:
            k = sock.recv_into(view[got:], n - got)
        except TimeoutError:
            raise WireTimeout(f"no data from the peer within {sock.gettimeout():g} s") from None
        except OSError as e:
            raise ConnectionLost(f"connection lost: {e.strerror or e}") from None
        if k == 0:
            where = "before a frame" if start and got == 0 else f"mid-frame ({got} of {n} bytes)"
            raise ConnectionLost(f"the peer closed the connection {where}")
        got += k
    return buf


def read_frame(sock: socket.socket, max_body: int = MAX_BODY_BYTES) -> RawFrame:
    """One frame from a socket, the fixed header checked (the body bounded by ``max_body``)
    before the rest is read."""
    fixed = recv_exact(sock, FIXED.size, start=True)
    header_len, body_len = parse_fixed(fixed, max_body)
    header = parse_header(recv_exact(sock, header_len), body_len)
    body = recv_exact(sock, body_len) if body_len else bytearray()
    return RawFrame(header, body, FIXED.size + header_len + body_len)


def send_frame(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except TimeoutError:
        raise WireTimeout(f"the peer took no data within {sock.gettimeout():g} s") from None
    except OSError as e:
        raise ConnectionLost(f"connection lost while sending: {e.strerror or e}") from None
