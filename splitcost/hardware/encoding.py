"""How tensors are encoded on the wire, and how many bytes that makes.

A split sends its cut tensors (``Z_b`` for MTL-Split) as ``float32`` unless told otherwise;
``float16``/``bfloat16`` halve it; ``int8`` is per-tensor affine quantisation and adds a
``float32`` scale and an ``int32`` zero point per tensor. RoC sends the input as ``float32``
(the paper), ``float16``/``bfloat16`` (a half-precision network's input), ``uint8`` (raw pixels)
or ``jpeg:RATIO`` (uint8 pixels compressed RATIO times). Both default to the network's
precision (:func:`splitcost.studies.inputs.precision_encoding`).
An optional compression ratio divides the encoded bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from splitcost.errors import InputError

PAYLOAD_DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
INPUT_ENCODINGS = ("float32", "float16", "bfloat16", "uint8", "jpeg:RATIO")
QUANT_PARAMS_BYTES = 8  # float32 scale + int32 zero point, per tensor


@dataclass(frozen=True)
class Encoding:
    """Bytes per element, per-tensor overhead and a compression ratio."""

    name: str  # "float32", "int8", "uint8", "jpeg"
    element_bytes: int
    per_tensor_bytes: int = 0
    compression: float = 1.0

    def encoded_bytes(self, numel: int, tensors: int = 1) -> int:
        raw = numel * self.element_bytes + tensors * self.per_tensor_bytes
        return math.ceil(raw / self.compression)

    @property
    def label(self) -> str:
        if self.name == "jpeg":
            return f"jpeg:{self.compression:g}"
        if self.compression != 1.0:
            return f"{self.name}, compressed {self.compression:g}x"
        return self.name


FLOAT32 = Encoding("float32", 4)


def _ratio(text: str, parameter: str, what: str = "") -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{what}expected a compression ratio such as 4 or 2.5, got {text!r}",
                         parameter=parameter) from None
    if not math.isfinite(value) or value < 1:
        raise InputError(f"{what}the compression ratio must be a number of at least 1, got "
                         f"{text!r}", parameter=parameter)
    return value


def payload_encoding(dtype: str = "float32", compression: str | float | None = None) -> Encoding:
    """How cut tensors are sent (``payload_dtype``) and compressed (``payload_compression``)."""
    key = dtype.strip().lower() if isinstance(dtype, str) else ""
    if key not in PAYLOAD_DTYPES:
        raise InputError(f"expected one of {', '.join(PAYLOAD_DTYPES)}, got {dtype!r}",
                         parameter="payload_dtype")
    ratio = 1.0 if compression is None else _ratio(str(compression), "payload_compression")
    per_tensor = QUANT_PARAMS_BYTES if key == "int8" else 0
    return Encoding(key, PAYLOAD_DTYPES[key], per_tensor, ratio)


def input_encoding(text: str = "float32") -> Encoding:
    """How RoC ships the input (``input_dtype``)."""
    key = text.strip().lower() if isinstance(text, str) else ""
    if key == "float32":
        return FLOAT32
    if key in ("float16", "bfloat16"):
        return Encoding(key, 2)
    if key == "uint8":
        return Encoding("uint8", 1)
    if key.startswith("jpeg:"):
        return Encoding("jpeg", 1, 0, _ratio(key[5:], "input_dtype", "jpeg:RATIO: "))
    raise InputError(f"expected one of {', '.join(INPUT_ENCODINGS)}, got {text!r}",
                     parameter="input_dtype")
