"""The profile cache (splitcost/network/cache.py): a cached profile is the fresh one, priced the
same to the last bit; damaged, foreign and unwritable caches never break a run; a hit needs no
torch.

Oracle: the fresh trace of the same backbone (profile() and head_profiles(), no cache), and
the report the command prints with --no-cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cli_run import run

from splitcost.network.cache import (
    CacheEventKind,
    CacheProblem,
    EntryKind,
    ProfileCache,
    cache_dir,
    cached_heads,
    cached_profile,
    environment,
)
from splitcost.network.heads import head_profiles
from splitcost.network.profiler import profile
from splitcost.network.tasks import parse_tasks
from splitcost.studies.compare import compare_request
from splitcost.studies.inputs import pricing_inputs
from splitcost.units import InputSpec

ROOT = Path(__file__).resolve().parent.parent
SPEC = InputSpec((3, 224, 224))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ProfileCache:
    monkeypatch.setenv("SPLITCOST_CACHE_DIR", str(tmp_path / "cache"))
    return ProfileCache()


@pytest.mark.parametrize(("name", "options"), [
    ("efficientnet", {}),
    ("mobilenet", {"batch": 4, "dtype": "float16"}),
    ("resnet18", {"whole": True, "training": True, "optimizer": "sgd", "frozen": ("layer1",)}),
])
def test_a_cached_profile_prices_exactly_like_a_fresh_one(store: ProfileCache, name: str,
                                                          options: dict[str, object]) -> None:
    fresh = profile(name, SPEC, **options)  # type: ignore[arg-type]
    _, events = cached_profile(name, SPEC, cache=store, **options)  # type: ignore[arg-type]
    assert [e.kind for e in events] == [CacheEventKind.MISS, CacheEventKind.STORED]
    cached, events = cached_profile(name, SPEC, cache=store, **options)  # type: ignore[arg-type]
    assert [e.kind for e in events] == [CacheEventKind.HIT]
    assert cached == fresh and cached.trace == fresh.trace  # every field, the trace included
    assert cached.to_dict() == fresh.to_dict()
    tasks = parse_tasks("3,2,3")
    fresh_heads = head_profiles(fresh, tasks)
    cached_heads(cached, tasks, 256, store)  # traces and stores them
    heads, events = cached_heads(cached, tasks, 256, store)
    assert {e.kind for e in events} == {CacheEventKind.HIT}
    for h, f in zip(heads, fresh_heads, strict=True):
        assert h == f and h.trace == f.trace
    inputs = pricing_inputs("3,2,3", link="lte", memory_model="inference")
    want = compare_request(inputs.request(fresh, fresh_heads), cuts=["output"]).to_dict()
    got = compare_request(inputs.request(cached, heads), cuts=["output"]).to_dict()
    assert got == want  # every float equal, not close
    torchinfo = pricing_inputs(2, link="wifi5", memory_model="torchinfo")
    assert (compare_request(torchinfo.request(cached, heads[:2])).to_dict()
            == compare_request(torchinfo.request(fresh, fresh_heads[:2])).to_dict())


def test_the_request_is_what_the_user_typed(store: ProfileCache) -> None:
    cached_profile("efficientnet", SPEC, cache=store)
    hit, events = cached_profile("EfficientNet_B0", SPEC, cache=store)
    assert events[0].kind is CacheEventKind.HIT  # one entry for every spelling of the name
    assert hit.backbone.requested == "EfficientNet_B0" and hit.name == "efficientnet_b0"


def test_the_key_holds_everything_a_profile_depends_on(store: ProfileCache) -> None:
    base = store.backbone_key("vgg", SPEC, batch=1, whole=False, dtype="float32")
    assert base == store.backbone_key("VGG16", SPEC, batch=1, whole=False, dtype="float32")
    others = [
        store.backbone_key("vgg19", SPEC, batch=1, whole=False, dtype="float32"),
        store.backbone_key("vgg", InputSpec((3, 64, 64)), batch=1, whole=False, dtype="float32"),
        store.backbone_key("vgg", InputSpec((3, 224, 224), "float16"), batch=1, whole=False,
                           dtype="float32"),
        store.backbone_key("vgg", SPEC, batch=2, whole=False, dtype="float32"),
        store.backbone_key("vgg", SPEC, batch=1, whole=True, dtype="float32"),
        store.backbone_key("vgg", SPEC, batch=1, whole=False, dtype="bfloat16"),
        store.backbone_key("vgg", SPEC, batch=1, whole=False, dtype="float32",
                           training=("adamw", ())),
        replace(base, env=replace(base.env, torch="2.99.0")),
        replace(base, env=replace(base.env, torchvision="0.99.0")),
        replace(base, env=replace(base.env, splitcost="9.9.9")),
        replace(base, env=replace(base.env, code="0" * 16)),
        replace(base, env=replace(base.env, schema="0" * 16)),
    ]
    digests = {base.digest, *(k.digest for k in others)}
    assert len(digests) == len(others) + 1
    env = environment()
    assert env.torch == "2.14.1" and env.torchvision == "0.29.1"  # from the metadata
    assert "torch" in sys.modules  # (this test file imports torch; the subprocess test below
    # shows a hit does not)


def test_another_environment_misses(store: ProfileCache) -> None:
    cached_profile("mobilenet", SPEC, cache=store)
    other = ProfileCache(store.directory, env=replace(store.env, torch="2.99.0"))
    _, events = cached_profile("mobilenet", SPEC, cache=other)
    assert events[0].kind is CacheEventKind.MISS
    entries = other.info().entries
    assert sorted(e.torch for e in entries) == ["2.14.1", "2.99.0"]
    assert [e.current for e in entries if e.torch == "2.99.0"] == [True]


def _entry(store: ProfileCache, name: str = "mobilenet") -> Path:
    key = store.backbone_key(name, SPEC, batch=1, whole=False, dtype="float32")
    return store.path(key)


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda b: b[: len(b) // 2], CacheProblem.DIGEST),  # truncated mid-write
    (lambda b: b.replace(b'"mobilenet_v3_small"', b'"mobilenet_v3_large"', 2)
     .replace(b'"mobilenet_v3_large"', b'"mobilenet_v3_small"', 1), CacheProblem.DIGEST),
    (lambda b: b"\x00\xff garbage", CacheProblem.NOT_AN_ENTRY),
    (lambda b: b"", CacheProblem.NOT_AN_ENTRY),
    (lambda b: b.replace(b'"format":1', b'"format":0', 1), CacheProblem.FORMAT),
])
def test_a_damaged_entry_is_a_miss_that_says_so(capsys: pytest.CaptureFixture[str],
                                                 store: ProfileCache, damage: object,
                                                 problem: CacheProblem) -> None:
    code, want, _ = run(capsys, "report", "-b", "mobilenet", "--format", "json")
    assert code == 0
    path = _entry(store)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    found, event = store.load(store.backbone_key("mobilenet", SPEC, batch=1, whole=False,
                                                 dtype="float32"))
    assert found is None and event.kind is CacheEventKind.UNREADABLE
    assert event.problem is problem
    code, out, err = run(capsys, "report", "-b", "mobilenet", "--format", "json")
    assert code == 0 and out == want  # traced again: the same report
    assert err.startswith("splitcost: note: the cached profile of mobilenet_v3_small")
    assert err.count("\n") == 1 and "traced it again" in err
    _, events = cached_profile("mobilenet", SPEC, cache=store)
    assert events[0].kind is CacheEventKind.HIT  # the run replaced the damaged entry


def test_a_foreign_entry_is_a_miss(capsys: pytest.CaptureFixture[str],
                                   store: ProfileCache) -> None:
    """Another key's (valid) entry under this key's name is never read as this profile."""
    cached_profile("resnet18", SPEC, cache=store)
    _entry(store, "mobilenet").parent.mkdir(parents=True, exist_ok=True)
    _entry(store, "mobilenet").write_bytes(_entry(store, "resnet18").read_bytes())
    code, out, err = run(capsys, "report", "-b", "mobilenet", "--format", "json")
    assert code == 0 and json.loads(out)["context"]["backbone"]["name"] == "mobilenet_v3_small"
    assert "belongs to another key" in err
    _, events = cached_profile("mobilenet", SPEC, cache=store)
    assert events[0].kind is CacheEventKind.HIT


def test_an_unwritable_cache_never_breaks_a_run(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, want, _ = run(capsys, "report", "-b", "mobilenet", "--no-cache", "--format", "json")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SPLITCOST_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    code, out, err = run(capsys, "report", "-b", "mobilenet", "--format", "json")
    assert code == 0 and out == want
    assert "could not store the profile of mobilenet_v3_small" in err
    assert all(line.startswith("splitcost: note: ") for line in err.splitlines())
    code, out, _ = run(capsys, "cache", "info", "--format", "json")
    assert code == 0 and json.loads(out)["entries"] == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cache_folder(capsys: pytest.CaptureFixture[str], store: ProfileCache
                                  ) -> None:
    store.entries_dir.mkdir(parents=True)
    store.entries_dir.chmod(0o555)
    try:
        code, _, err = run(capsys, "report", "-b", "mobilenet")
        assert code == 0 and "could not store" in err
    finally:
        store.entries_dir.chmod(0o755)


def test_no_cache_reads_and_stores_nothing(capsys: pytest.CaptureFixture[str],
                                           store: ProfileCache) -> None:
    code, cold, _ = run(capsys, "report", "-b", "mobilenet", "--no-cache", "--format", "json")
    assert code == 0 and not store.directory.exists()
    code, warm, _ = run(capsys, "report", "-b", "mobilenet", "--format", "json")
    code, hit, _ = run(capsys, "report", "-b", "mobilenet", "--format", "json")
    assert cold == warm == hit
    assert {e.kind for e in store.info().entries} == {EntryKind.BACKBONE, EntryKind.HEAD}


def test_user_factories_are_never_cached(capsys: pytest.CaptureFixture[str],
                                         store: ProfileCache) -> None:
    code, _, err = run(capsys, "profile", "-b", "models:chain_factory", "--input", "3x8x8")
    assert code == 0 and err == ""
    assert store.info().entries == ()


def test_cache_info_and_clear(capsys: pytest.CaptureFixture[str], store: ProfileCache) -> None:
    assert run(capsys, "report", "-b", "mobilenet", "-t", "3,2")[0] == 0
    store.entries_dir.joinpath("notes.txt").write_text("mine")  # not an entry: left alone
    store.directory.joinpath("other.json").write_text("{}")
    code, out, _ = run(capsys, "cache", "info", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["kind"] == "cache" and d["directory"] == str(store.directory)
    names = sorted(e["name"] for e in d["entries"])
    assert names == ["head(28224->256->2)", "head(28224->256->3)", "mobilenet_v3_small"]
    assert all(e["current"] for e in d["entries"])
    assert d["bytes"] == sum(e["bytes"] for e in d["entries"])
    assert "torch" in d["key_fields"] and "code" in d["key_fields"]
    code, out, _ = run(capsys, "cache", "info")
    assert code == 0 and "mobilenet_v3_small" in out and "never cached" in out
    code, out, _ = run(capsys, "cache", "clear", "--format", "json")
    cleared = json.loads(out)
    assert code == 0 and len(cleared["entries"]) == 3 and cleared["bytes"] == d["bytes"]
    assert store.info().entries == ()
    assert store.entries_dir.joinpath("notes.txt").read_text() == "mine"
    assert store.directory.joinpath("other.json").exists()


def test_where_the_cache_is() -> None:
    assert cache_dir({"SPLITCOST_CACHE_DIR": "/x/y"}) == Path("/x/y")
    assert cache_dir({"XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/splitcost")
    assert cache_dir({"HOME": "/h"}).name == "splitcost"


def _python(code: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={**os.environ, **env})
    return out.stdout.strip()


def test_a_cache_hit_imports_no_torch(tmp_path: Path) -> None:
    env = {"SPLITCOST_CACHE_DIR": str(tmp_path / "cache")}
    report = ["report", "-b", "efficientnet", "--format", "json"]
    first = [*report, "-t", "3", "-l", "1gbps"]
    code = (
        "import sys\nfrom splitcost.cli import main\n"
        "try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if {{'torch', 'torchvision'}} & set(sys.modules) else 'NO TORCH')"
    )
    cold = _python(code.format(args=first), env)
    assert cold.endswith("\nTORCH") and cold.startswith("{")  # a miss traces
    for changed in (["-t", "3", "-l", "lte"], ["-t", "3", "-d", "raspberry-pi-4-4gb"],
                    ["-t", "5", "-l", "1gbps"]):
        warm = _python(code.format(args=[*report, *changed]), env)
        assert warm.startswith("{") and warm.endswith("\nNO TORCH"), changed
    same = _python(code.format(args=first), env)
    assert same == cold.replace("\nTORCH", "\nNO TORCH")  # the same report, from the cache
    for command in (["profile", "-b", "efficientnet"], ["sweep", "-b", "efficientnet"]):
        _python(code.format(args=command), env)
        again = _python(code.format(args=command), env)
        assert again.endswith("\nNO TORCH") and len(again.splitlines()) > 5, command
