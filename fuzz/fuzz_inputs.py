"""Fuzz the shape, unit and link parsers and the TOML profile loader (not part of CI).

Each target must either return a well-formed value or raise splitcost.errors.InputError (which the
CLI prints as one line): any other exception is a finding. Inputs are random text, text mutated
from valid examples, and profile files mutated byte by byte and line by line.

Run: .venv/bin/python fuzz/fuzz_inputs.py [seconds per target, default 60]
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from splitcost.errors import InputError
from splitcost.hardware.catalog import load_device, load_link
from splitcost.hardware.encoding import input_encoding, payload_encoding
from splitcost.network.tasks import parse_tasks
from splitcost.units import Kind, parse_input, parse_quantity

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {
    "shape": ["3x224x224", "1x128:int64", "3x2835x3543", "3 x 224 x 224", "224:uint8"],
    "rate": ["1gbps", "100 Mbit/s", "54mbps", "12.5MB/s", "1e9 bit/s", "6 Mbit/s"],
    "bytes": ["2.5GB", "300 MiB", "1048576", "4 GiB", "1_000 kB"],
    "time": ["100ms", "0.5 s", "250us", "1.5 min"],
    "tasks": ["3", "3,2,3", "10", "1,1"],
    "payload": ["float32", "int8", "FLOAT16", "bfloat16"],
    "input": ["float32", "uint8", "jpeg:10", "JPEG:2.5"],
}
ALPHABET = "0123456789.eE+-_ xX:,/;bBpPsSgGmMkKiIt\t\n\x00μ×nan inf"


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randint(0, len(chars)) if chars else 0
        if op < 0.4:
            chars.insert(pos, rng.choice(ALPHABET))
        elif op < 0.7 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif chars:
            chars[min(pos, len(chars) - 1)] = rng.choice(ALPHABET)
    return "".join(chars)


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))


def check_number(value: float) -> None:
    assert isinstance(value, float | int) and math.isfinite(value) and value >= 0, value


TARGETS: dict[str, tuple[str, Callable[[str], None]]] = {
    "parse_input": ("shape", lambda s: check_shape(parse_input(s))),
    "parse rate": ("rate", lambda s: check_number(parse_quantity(s, Kind.RATE))),
    "parse bytes": ("bytes", lambda s: check_number(parse_quantity(s, Kind.BYTES,
                                                                   bare_number=True))),
    "parse duration": ("time", lambda s: check_number(parse_quantity(s, Kind.TIME))),
    "load_link": ("rate", lambda s: check_number(load_link(s).bandwidth_bps)),
    "parse_tasks": ("tasks", lambda s: check_tasks(parse_tasks(s))),
    "payload_encoding": ("payload", lambda s: check_number(payload_encoding(s).element_bytes)),
    "input_encoding": ("input", lambda s: check_number(input_encoding(s).compression)),
}


def check_shape(spec: object) -> None:
    shape = spec.shape  # type: ignore[attr-defined]
    assert shape and all(isinstance(d, int) and d > 0 for d in shape), shape


def check_tasks(tasks: list[object]) -> None:
    assert tasks and all(t.classes > 0 for t in tasks)  # type: ignore[attr-defined]


def fuzz_text(name: str, seeds: list[str], target: Callable[[str], None], seconds: float,
              rng: random.Random) -> tuple[int, list[str]]:
    runs, findings = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = mutate(rng.choice(seeds), rng) if rng.random() < 0.8 else random_text(rng)
        runs += 1
        try:
            target(text)
        except InputError as e:
            if "\n" in str(e):
                findings.append(f"{name}({text!r}): multi-line message")
        except Exception as e:  # a finding, reported below
            findings.append(f"{name}({text!r}): {type(e).__name__}: {e}")
    return runs, findings


def fuzz_toml(kind: str, seconds: float, rng: random.Random) -> tuple[int, list[str]]:
    sources = sorted((ROOT / "profiles" / kind).glob("*.toml"))
    loader = load_device if kind == "devices" else load_link
    runs, findings = 0, []
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < end:
            source = rng.choice(sources)
            lines = source.read_text().splitlines()
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(lines))
                r = rng.random()
                if r < 0.3:
                    del lines[i]
                elif r < 0.6:
                    lines[i] = mutate(lines[i], rng)
                elif r < 0.8 and "=" in lines[i]:
                    key = lines[i].split("=", 1)[0]
                    junk = rng.choice(["true", "-1", "1e400", "[]", "{}", "0", "nan"])
                    lines[i] = f"{key}= {junk}"
                else:
                    lines.insert(i, rng.choice(lines))
            path = Path(tmp) / source.name
            path.write_text("\n".join(lines) + "\n")
            runs += 1
            try:
                loader(str(path))
            except InputError as e:
                if "\n" in str(e) and "not valid TOML" not in str(e):
                    findings.append(f"{source.name}: multi-line message: {e}")
            except Exception as e:  # a finding
                findings.append(f"{source.name}: {type(e).__name__}: {e}\n"
                                + "".join(traceback.format_exc(limit=3)))
    return runs, findings


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    rng = random.Random(20261127)
    total = 0
    all_findings: list[str] = []
    for name, (seed_kind, target) in TARGETS.items():
        runs, findings = fuzz_text(name, SEEDS[seed_kind], target, seconds, rng)
        total += runs
        all_findings += findings
        print(f"{name:18s} {runs:8d} inputs  {len(findings)} findings")
    for kind in ("devices", "links"):
        runs, findings = fuzz_toml(kind, seconds, rng)
        total += runs
        all_findings += findings
        print(f"toml {kind:13s} {runs:8d} files   {len(findings)} findings")
    print(f"total {total} inputs, {len(all_findings)} findings")
    for f in all_findings[:30]:
        print(" -", f)
    sys.exit(1 if all_findings else 0)


if __name__ == "__main__":
    main()
