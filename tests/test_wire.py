"""The wire frame: round trips per encoding, and every malformed frame refused in one line."""

from __future__ import annotations

import json
import socket
import struct
import threading

import pytest
import torch

from splitcost.deploy.wire import (
    FIXED,
    MAGIC,
    ConnectionLost,
    FrameError,
    WireTimeout,
    decode,
    encode,
    read_frame,
    send_frame,
    tensors_of,
)
from splitcost.hardware.encoding import payload_encoding


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"skip": torch.randn(1, 4, 5, 5, generator=g) * 3,
            "z": torch.randn(2, 7, generator=g) - 1,
            "empty": torch.zeros(0, 3)}


@pytest.mark.parametrize("encoding", ["float32", "float16", "bfloat16"])
def test_float_round_trip(encoding: str) -> None:
    src = _tensors()
    frame = decode(encode("infer", src, encoding, {"index": 3}))
    assert frame.kind == "infer" and frame.meta == {"index": 3}
    assert list(frame.tensors) == list(src)
    for name, t in src.items():
        got = frame.tensors[name]
        assert got.dtype == torch.float32 and got.shape == t.shape
        assert torch.equal(got, t.to(getattr(torch, encoding)).float())


def test_int8_round_trip_within_half_a_step() -> None:
    src = _tensors()
    raw = encode("infer", src, "int8")
    got = decode(raw).tensors
    header = json.loads(raw[FIXED.size:FIXED.size + FIXED.unpack_from(raw)[3]])
    for entry in header["tensors"]:
        t = src[entry["name"]]
        if t.numel():
            step = (max(float(t.max()), 0.0) - min(float(t.min()), 0.0)) / 255
            assert entry["scale"] == pytest.approx(step)
            assert float((got[entry["name"]] - t).abs().max()) <= step / 2 + 1e-6
        assert -128 <= entry["zero_point"] <= 127


@pytest.mark.parametrize("encoding", ["float32", "float16", "bfloat16", "int8"])
def test_body_bytes_match_splitcost_payload_arithmetic(encoding: str) -> None:
    src = _tensors()
    raw = encode("infer", src, encoding)
    body = FIXED.unpack_from(raw)[4]
    numel = sum(t.numel() for t in src.values())
    enc = payload_encoding(encoding)
    # splitcost counts the int8 scale and zero point per tensor; the frame keeps them in JSON
    assert body == enc.encoded_bytes(numel, len(src)) - len(src) * enc.per_tensor_bytes


def _frame(header: dict[str, object] | bytes, body: bytes = b"", *, magic: bytes = MAGIC,
           version: int = 1, flags: int = 0, header_len: int | None = None,
           body_len: int | None = None) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return FIXED.pack(magic, version, flags, len(h) if header_len is None else header_len,
                      len(body) if body_len is None else body_len) + h + body


def _entry(**kw: object) -> dict[str, object]:
    e: dict[str, object] = {"name": "z", "shape": [2, 2], "dtype": "float32",
                            "encoding": "float32", "nbytes": 16}
    e.update(kw)
    return e


GOOD = encode("infer", {"z": torch.ones(2, 2)})
BAD = {
    "bad magic": (_frame({"kind": "x"}, magic=b"HTTP"), "magic"),
    "bad version": (_frame({"kind": "x"}, version=9), "version 9"),
    "flags": (_frame({"kind": "x"}, flags=1), "flags"),
    "short fixed header": (GOOD[:10], "truncated"),
    "truncated body": (GOOD[:-3], "truncated"),
    "trailing bytes": (GOOD + b"xx", "after its end"),
    "absurd header length": (_frame(b"{}", header_len=1 << 30), "absurd JSON header"),
    "zero header length": (_frame(b"", header_len=0), "absurd JSON header"),
    "absurd body length": (_frame({"kind": "x"}, body_len=1 << 40), "absurd body"),
    "not JSON": (_frame(b"{kind"), "not valid JSON"),
    "not an object": (_frame(b"[1]"), "not a JSON object"),
    "no kind": (_frame({"meta": {}}), "no 'kind'"),
    "lengths do not add up": (_frame({"kind": "x", "tensors": [_entry()]}, b"\0" * 12),
                              "add up to 16 bytes but the body holds 12"),
    "nbytes vs shape": (_frame({"kind": "x", "tensors": [_entry(nbytes=12)]}, b"\0" * 12),
                        "do not match shape"),
    "negative dimension": (_frame({"kind": "x", "tensors": [_entry(shape=[-1, 2])]}), "shape"),
    "unknown encoding": (_frame({"kind": "x", "tensors": [_entry(encoding="q4")]}),
                         "unknown encoding"),
    "unknown dtype": (_frame({"kind": "x", "tensors": [_entry(dtype="int64")]}),
                      "unknown dtype"),
    "repeated name": (_frame({"kind": "x", "tensors": [_entry(), _entry()]}, b"\0" * 32),
                      "repeated name"),
    "int8 without scale": (_frame({"kind": "x", "tensors": [
        _entry(encoding="int8", nbytes=4, zero_point=0)]}, b"\0" * 4), "positive finite scale"),
    "int8 zero point": (_frame({"kind": "x", "tensors": [
        _entry(encoding="int8", nbytes=4, scale=0.1, zero_point=300)]}, b"\0" * 4),
        "zero point"),
    "absurd shape": (_frame({"kind": "x", "tensors": [
        _entry(shape=[1 << 20, 1 << 20], nbytes=4 << 40)]}), "absurd shape"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_frames_raise_one_clear_error(case: str) -> None:
    data, words = BAD[case]
    with pytest.raises(FrameError, match=words) as e:
        decode(data)
    assert "\n" not in str(e.value)


def test_int8_refuses_nan() -> None:
    with pytest.raises(FrameError, match="NaN"):
        encode("infer", {"z": torch.tensor([1.0, float("nan")])}, "int8")


def test_socket_frames_and_failures() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(2)
        send_frame(a, GOOD)
        raw = read_frame(b)
        assert raw.size == len(GOOD) and torch.equal(tensors_of(raw)["z"], torch.ones(2, 2))
        b.settimeout(0.2)
        with pytest.raises(WireTimeout, match=r"within 0\.2 s"):
            read_frame(b)
        a.sendall(GOOD[:30])
        a.shutdown(socket.SHUT_WR)
        b.settimeout(2)
        with pytest.raises(ConnectionLost, match="mid-frame"):
            read_frame(b)


def test_absurd_length_is_refused_before_reading_the_rest() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(2)
        a.sendall(struct.pack("<4sHHIQ", MAGIC, 1, 0, 10, 1 << 50))  # nothing follows
        with pytest.raises(FrameError, match="absurd body"):
            read_frame(b)


def test_peer_closing_between_frames() -> None:
    a, b = socket.socketpair()
    b.settimeout(2)

    def close_soon() -> None:
        a.close()

    t = threading.Thread(target=close_soon)
    t.start()
    with b, pytest.raises(ConnectionLost, match="before a frame"):
        read_frame(b)
    t.join()
