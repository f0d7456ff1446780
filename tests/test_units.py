"""Units: parsing and formatting against hand-written values."""

from __future__ import annotations

import pytest

from splitcost.errors import InputError
from splitcost.units import (
    Kind,
    format_bytes,
    format_rate,
    format_seconds,
    parse_bytes,
    parse_duration,
    parse_input,
    parse_quantity,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "bps"),
    [
        ("1gbps", 1e9),
        ("1 Gbit/s", 1e9),
        ("100 Mbit/s", 1e8),
        ("54mbps", 54e6),
        ("12.5MB/s", 1e8),  # bytes per second, times 8
        ("10 Gbps", 1e10),
        ("250 kbit/s", 250e3),
        ("1.5e6 bit/s", 1.5e6),
    ],
)
def test_rates_are_bits_per_second(text: str, bps: float) -> None:
    assert parse_rate(text) == pytest.approx(bps)


@pytest.mark.parametrize(
    ("text", "n"),
    [("2.5GB", 2_500_000_000), ("300 MiB", 300 * 2**20), ("1048576", 1_048_576),
     ("4 GiB", 4 * 2**30), ("2.4gb", 2_400_000_000), ("512 kB", 512_000)],
)
def test_bytes(text: str, n: int) -> None:
    assert parse_bytes(text) == n


@pytest.mark.parametrize(
    "bad", ["1gbsp", "mb/s", "5 mb/s", "-1gbps", "nan gbps", "inf Mbit/s", "0gbps", "", "fast"]
)
def test_bad_rates_say_what_form_is_expected(bad: str) -> None:
    with pytest.raises(InputError) as e:
        parse_rate(bad)
    assert "1gbps" in str(e.value) or "more than zero" in str(e.value) or "finite" in str(e.value)
    assert "\n" not in str(e.value)


def test_durations_and_other_kinds() -> None:
    assert parse_duration("100ms") == pytest.approx(0.1)
    assert parse_duration("250us") == pytest.approx(250e-6)
    assert parse_quantity("236 GFLOP/s", Kind.FLOP_RATE) == pytest.approx(236e9)
    assert parse_quantity("25.6 GB/s", Kind.BYTE_RATE) == pytest.approx(25.6e9)
    assert parse_quantity("438 nJ/bit", Kind.ENERGY_PER_BIT) == pytest.approx(438e-9)
    assert parse_quantity("1288 mW", Kind.POWER) == pytest.approx(1.288)
    with pytest.raises(InputError):
        parse_duration("100")  # a bare number is ambiguous on the command line


def test_shapes() -> None:
    assert parse_input("3x224x224").shape == (3, 224, 224)
    spec = parse_input("1x128:int64")
    assert (spec.shape, spec.dtype) == ((1, 128), "int64")
    for bad in ["3x224x", "3xx224", "axb", "3x0x224", "", "3x224x224:complex"]:
        with pytest.raises(InputError):
            parse_input(bad)


def test_formatting_says_its_unit() -> None:
    assert format_bytes(250_880) == "251 kB"
    assert format_bytes(120_532_860, binary=True) == "115 MiB"
    assert format_bytes(724_076_544) == "724 MB"
    assert format_rate(1e9) == "1 Gbit/s"
    assert format_rate(6.3e6) == "6.3 Mbit/s"
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(96.4) == "96.4 s"
