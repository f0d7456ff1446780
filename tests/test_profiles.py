"""Device and link profiles: every shipped file loads and cites a source for every figure;
bad files are refused with the file and the field named."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from splitcost.errors import InputError
from splitcost.hardware import schema
from splitcost.hardware.catalog import device_names, link_names, load_device, load_link

REQUIRED_DEVICES = {"jetson-nano-4gb", "jetson-nano-2gb", "jetson-orin-nano-8gb",
                    "raspberry-pi-4-4gb", "raspberry-pi-5-8gb", "rtx-3090", "t4", "a100"}
REQUIRED_LINKS = {"ethernet-100m", "ethernet-1g", "ethernet-10g", "wifi4", "wifi5", "wifi6",
                  "lte", "5g", "starlink"}


def test_shipped_profiles_are_all_there() -> None:
    assert set(device_names()) >= REQUIRED_DEVICES
    assert set(link_names()) >= REQUIRED_LINKS


@pytest.mark.parametrize("name", sorted(REQUIRED_DEVICES))
def test_every_device_figure_has_a_source(name: str) -> None:
    d = load_device(name)
    assert d.memory_usable < d.memory_total
    for key in ("memory.total", "memory.usable", "memory.runtime_overhead", "compute.fp32"):
        assert key in d.sources and d.sources[key].ref
        assert d.sources[key].kind in ("vendor", "measured", "derived", "estimate")


def test_jetson_nano_usable_memory_is_well_below_4gb() -> None:
    d = load_device("jetson-nano-4gb")
    assert d.role == "edge"
    assert d.memory_usable < 3.0e9
    assert d.runtime_overhead > 0


@pytest.mark.parametrize("name", sorted(REQUIRED_LINKS))
def test_every_link_figure_has_a_source(name: str) -> None:
    lk = load_link(name)
    assert 0 < lk.efficiency <= 1
    assert "bandwidth" in lk.sources and "rtt" in lk.sources


def test_bare_rate_is_an_ideal_link() -> None:
    lk = load_link("1gbps")
    assert (lk.bandwidth_bps, lk.rtt_s, lk.efficiency, lk.ideal) == (1e9, 0.0, 1.0, True)
    assert load_link("12.5MB/s").bandwidth_bps == pytest.approx(1e8)


def test_unknown_link_lists_the_closest() -> None:
    with pytest.raises(InputError, match="lte"):
        load_link("lt")
    with pytest.raises(InputError, match="gbps"):
        load_link("1gbsp")


def test_unknown_device_lists_the_closest() -> None:
    with pytest.raises(InputError, match="jetson-nano-4gb"):
        load_device("jetson-nano-4g")


GOOD_DEVICE = Path(__file__).parent.parent / "profiles" / "devices" / "jetson-nano-4gb.toml"


def _write_device(tmp_path: Path, edit: tuple[str, str] | None = None, drop: str | None = None
                  ) -> Path:
    text = GOOD_DEVICE.read_text()
    lines = text.splitlines()
    if drop is not None:
        lines = [ln for ln in lines if not ln.startswith(f"{drop} =")]
    if edit is not None:
        lines = [f"{edit[0]} = {edit[1]}" if ln.startswith(f"{edit[0]} =") else ln
                 for ln in lines]
    path = tmp_path / "devices" / "jetson-nano-4gb.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("edit", "drop", "field"),
    [
        (None, "usable", "memory.usable"),
        (("usable", '"8 GB"'), None, "memory.usable"),
        (("total", "true"), None, "memory.total"),
        (("bandwidth", '"-25.6 GB/s"'), None, "memory.bandwidth"),
        (("fp32", '"fast"'), None, "compute.fp32"),
        (("conv", "1.5"), None, "compute.efficiency.conv"),
        (("role", '"cloud"'), None, "role"),
    ],
)
def test_bad_device_file_names_file_and_field(
    tmp_path: Path, edit: tuple[str, str] | None, drop: str | None, field: str
) -> None:
    path = _write_device(tmp_path, edit, drop)
    with pytest.raises(InputError) as e:
        load_device(str(path))
    assert str(path) in str(e.value)
    assert f"'{field}'" in str(e.value)


def test_user_profile_folder_wins_over_shipped(tmp_path: Path) -> None:
    path = _write_device(tmp_path, ("usable", '"2 GB"'))
    d = load_device("jetson-nano-4gb", [tmp_path])
    assert d.memory_usable == 2_000_000_000
    assert d.path == str(path)


def test_bad_link_file(tmp_path: Path) -> None:
    path = tmp_path / "links" / "slow.toml"
    path.parent.mkdir(parents=True)
    path.write_text('name = "slow"\ntitle = "t"\nbandwidth = "-1 Mbit/s"\nrtt = "1 ms"\n'
                    "efficiency = 1.0\n")
    with pytest.raises(InputError, match=r"'bandwidth'"):
        load_link("slow", [tmp_path])


# --- the schema table drives the reader, the writer and the README -----------------------------


@pytest.mark.parametrize("name", device_names())
def test_device_round_trips_through_the_writer(tmp_path: Path, name: str) -> None:
    d = load_device(name)
    path = tmp_path / f"{name}.toml"
    path.write_text(schema.device_toml(d))
    again = load_device(str(path))
    assert again == replace_path(d, str(path))


@pytest.mark.parametrize("name", link_names())
def test_link_round_trips_through_the_writer(tmp_path: Path, name: str) -> None:
    lk = load_link(name)
    path = tmp_path / f"{name}.toml"
    path.write_text(schema.link_toml(lk))
    assert load_link(str(path)) == replace_path(lk, str(path))


def replace_path(profile: Any, path: str) -> Any:
    return replace(profile, path=path)


def test_readme_lists_every_field() -> None:
    readme = (Path(__file__).parent.parent / "profiles" / "README.md").read_text()
    assert schema.fields_markdown(schema.DEVICE_FIELDS) in readme
    assert schema.fields_markdown(schema.LINK_FIELDS) in readme


@pytest.mark.parametrize("field", [f for f in schema.DEVICE_FIELDS if f.required],
                         ids=lambda f: f.key)
def test_every_required_device_field_is_required(tmp_path: Path, field: schema.Field) -> None:
    d = load_device("jetson-nano-4gb")
    values = {k: v for k, v in schema.device_values(d).items() if k != field.key}
    sources = {k: {"kind": s.kind, "ref": s.ref, "note": s.note} for k, s in d.sources.items()}
    path = tmp_path / "jetson-nano-4gb.toml"
    path.write_text(schema.profile_toml(schema.DEVICE_FIELDS, values, sources))
    with pytest.raises(InputError, match=f"field '{field.key}'"):
        load_device(str(path))


@pytest.mark.parametrize("field", [f for f in schema.DEVICE_FIELDS if f.cited],
                         ids=lambda f: f.key)
def test_every_cited_device_field_needs_its_source(tmp_path: Path,
                                                   field: schema.Field) -> None:
    name = "raspberry-pi-4-4gb" if field.key.startswith("power") else "jetson-nano-4gb"
    if field.key.startswith("memory.cache"):
        name = "raspberry-pi-5-8gb"
    d = load_device(name)
    if schema.device_values(d).get(field.key) is None:
        pytest.skip(f"{d.name} has no {field.key}")
    text = schema.device_toml(d)
    start = text.index(f'"{field.key}" = {{')
    path = tmp_path / f"{d.name}.toml"
    path.write_text(text[:start] + text[text.index("\n", start) + 1:])
    with pytest.raises(InputError, match=f"field 'sources.{field.key}'"):
        load_device(str(path))
