"""The views of ``splitcost cache info|clear``, and the one-line notes a run writes when the
profile cache could not do its part."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitcost.render.grid import Grid
from splitcost.render.registry import RenderOptions
from splitcost.render.views.common import register
from splitcost.units import format_bytes, format_shape

if TYPE_CHECKING:
    from splitcost.network.cache import CacheEvent, CacheSummary

KIND = "splitcost.network.cache:CacheSummary"

COLUMNS = ("file", "bytes", "kind", "name", "input_shape", "input_dtype", "batch", "dtype",
           "whole", "training", "splitcost", "torch", "torchvision", "current")

_KEY_WORDS = {
    "kind": "backbone or task head", "name": "the canonical name (head: its sizes)",
    "input_shape": "input shape", "input_dtype": "input dtype", "batch": "batch",
    "dtype": "precision", "whole": "whole network or backbone",
    "training": "the training-memory options", "splitcost": "the splitcost version",
    "torch": "the torch version", "torchvision": "the torchvision version",
    "code": "a digest of splitcost's measuring code",
    "schema": "a digest of the stored classes' fields",
}



def _problem(e: CacheEvent) -> str:
    from splitcost.network.cache import CacheProblem as P

    return {
        P.OS_ERROR: "could not be read",
        P.NOT_AN_ENTRY: "is not a cache entry",
        P.FORMAT: "was written by another layout of the cache",
        P.KEY: "belongs to another key (a foreign file)",
        P.DIGEST: "is damaged or truncated (its digest does not match)",
        P.DECODE: "does not decode to a profile",
    }.get(e.problem, "could not be used") if e.problem else "could not be used"


def event_note(e: CacheEvent) -> str | None:
    """The sentence for an event a person should hear of, None for hits, misses and stores."""
    from splitcost.network.cache import CacheEventKind

    if e.kind is CacheEventKind.UNREADABLE:
        problem = _problem(e)
        detail = f" ({e.detail})" if e.detail else ""
        return (f"the cached profile of {e.name} at {e.path} {problem}{detail}; traced it "
                "again instead")
    if e.kind is CacheEventKind.NOT_STORED:
        return (f"could not store the profile of {e.name} in the cache ({e.detail}); the next "
                "run traces it again (set SPLITCOST_CACHE_DIR to a writable folder, or pass "
                "--no-cache)")
    return None


def key_sentence(s: CacheSummary) -> str:
    words = [_KEY_WORDS.get(f, f) for f in s.key_fields]
    return "Keyed by " + ", ".join(words[:-1]) + " and " + words[-1] + "."


def cache_grid(s: CacheSummary, options: RenderOptions | None = None) -> Grid:
    rows = tuple(
        (
            e.name,
            e.kind.value,
            format_shape(e.input_shape) + ("" if e.input_dtype in ("float32", e.dtype) else
                                           f":{e.input_dtype}"),
            str(e.batch),
            e.dtype,
            "whole" if e.whole else "backbone",
            "yes" if e.training else "-",
            f"{e.splitcost} / {e.torch} / {e.torchvision}",
            "yes" if e.current else "no",
            format_bytes(e.bytes),
        )
        for e in s.entries
    )
    from splitcost.network.cache import CacheAction

    removed = s.action is CacheAction.CLEAR
    title = "Profile cache: removed" if removed else "Profile cache"
    state = "writable" if s.writable else "not writable: runs trace and store nothing"
    count = f"{len(s.entries)} entr{'y' if len(s.entries) == 1 else 'ies'}"
    context = (
        f"Folder: {s.directory} ({state}; SPLITCOST_CACHE_DIR sets it)" if s.exists else
        f"Folder: {s.directory} (not created yet; SPLITCOST_CACHE_DIR sets it)",
        (f"Removed {count} and {len(s.unreadable)} other file(s), {format_bytes(s.bytes)}."
         if removed else f"{count}, {format_bytes(s.bytes)} (MB = 10^6 bytes)."),
    )
    env = s.environment
    notes = [
        key_sentence(s),
        f"This environment: splitcost {env.splitcost}, torch {env.torch}, torchvision "
        f"{env.torchvision}, code {env.code}; only entries marked current can be hit.",
        "User factories (package.module:factory) are never cached: what they build depends "
        "on code the key cannot see.",
        "--no-cache traces and stores nothing; 'splitcost cache clear' removes every entry.",
    ]
    if s.unreadable and not removed:
        notes.append(f"{len(s.unreadable)} file(s) named like entries are not readable entries "
                     "(a run treats them as misses and replaces them): "
                     + ", ".join(s.unreadable[:3]) + (" ..." if len(s.unreadable) > 3 else ""))
    for file, message in s.errors:
        notes.append(f"Could not remove {file}: {message}")
    return Grid(
        title=title,
        columns=("Name", "Kind", "Input", "Batch", "Precision", "Network", "Training",
                 "splitcost / torch / torchvision", "Current", "Size"),
        rows=rows,
        context=context,
        notes=tuple(notes),
        right=(3, 9),
    )


def _rows(s: CacheSummary) -> list[dict[str, Any]]:
    return [e.to_dict() for e in s.entries]


register(KIND, "cache", cache_grid, (COLUMNS, _rows))
