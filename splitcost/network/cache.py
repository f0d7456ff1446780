"""The profile cache: profiles stored on disk, so that pricing a network again needs no trace
(and no torch). No torch here: a hit reads a file and decodes plain data.

Where: ``$SPLITCOST_CACHE_DIR``, else ``$XDG_CACHE_HOME/splitcost``, else
``~/.cache/splitcost``; entries are ``profiles/<sha256 of the key>.json``.

The key (:class:`ProfileKey`) is everything a profile depends on: the backbone's canonical name
(or the task head's sizes), the input shape and dtype, the batch, the precision, whole network
or backbone, the training-memory options when they were measured, the splitcost, torch and
torchvision versions, a digest of the source of splitcost's measuring code (``network/`` and
the base modules it uses, so a changed formula never reads an old profile) and a digest of the
stored classes' fields. User factories (``package.module:factory``) and modules passed in are
never cached: what they build depends on code the key cannot see.

An entry is a header line (format, key, the body's sha256) and the encoded profile. Writes go
to a temporary file renamed into place, so a reader sees a whole entry or none; a read that
finds a damaged or foreign entry says so and counts as a miss; a cache that cannot be written
(a read-only folder) leaves the run as it was and says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from splitcost._version import __version__
from splitcost.network import _codec
from splitcost.network.names import canonical_name, is_user_factory
from splitcost.network.profile import Profile
from splitcost.network.tasks import Task
from splitcost.units import InputSpec

CACHE_FORMAT = 1  # the layout of an entry file
ENV_VAR = "SPLITCOST_CACHE_DIR"
ENTRY = re.compile(r"^[0-9a-f]{64}\.json$")
TEMP_PREFIX = ".tmp-"
# What a key is made of, in the order :class:`ProfileKey` holds it (for `splitcost cache info`).
KEY_FIELDS = ("kind", "name", "input_shape", "input_dtype", "batch", "dtype", "whole",
              "training", "splitcost", "torch", "torchvision", "code", "schema")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache's folder: ``$SPLITCOST_CACHE_DIR``, or the XDG cache folder's ``splitcost``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "splitcost"


# --- the key --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    """What else a profile depends on: the versions that traced it and splitcost's code."""

    splitcost: str
    torch: str
    torchvision: str
    code: str  # sha256 of the measuring code's source (first 16 hex digits)
    schema: str  # digest of the stored classes and their fields

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _version(distribution: str) -> str:
    from importlib import metadata  # reads the installed metadata; imports no torch

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _code_digest() -> str:
    """sha256 of the source of ``splitcost/network`` and the base modules a trace reads
    ("unreadable" when splitcost runs from an archive: the version alone then keys it)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    try:
        files = sorted((root / "network").rglob("*.py"))
        files += [root / name for name in ("units.py", "kinds.py", "errors.py", "defaults.py")]
        for path in files:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    except OSError:
        return "unreadable"
    return h.hexdigest()[:16]


def environment() -> Environment:
    """The environment of this process (reads package metadata and splitcost's source)."""
    return Environment(__version__, _version("torch"), _version("torchvision"), _code_digest(),
                       _codec.schema(Profile))


class EntryKind(StrEnum):
    BACKBONE = "backbone"
    HEAD = "head"


@dataclass(frozen=True)
class ProfileKey:
    """Everything a stored profile was measured from."""

    kind: EntryKind
    name: str  # the canonical backbone name, or head(features->hidden->classes)
    input_shape: tuple[int, ...]  # one sample, batch excluded
    input_dtype: str
    batch: int
    dtype: str  # precision of parameters and activations
    whole: bool
    training: tuple[str, tuple[str, ...]] | None  # (optimizer, frozen prefixes) if measured
    env: Environment

    def to_dict(self) -> dict[str, Any]:
        """The key as JSON reads it back (lists for tuples)."""
        return {
            "kind": self.kind.value,
            "name": self.name,
            "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype,
            "batch": self.batch,
            "dtype": self.dtype,
            "whole": self.whole,
            "training": None if self.training is None else [self.training[0],
                                                            list(self.training[1])],
            "env": self.env.to_dict(),
        }

    @property
    def digest(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# --- what happened ----------------------------------------------------------------------------


class CacheEventKind(StrEnum):
    HIT = "hit"
    MISS = "miss"
    UNREADABLE = "unreadable"  # an entry was there and could not be used: counted as a miss
    STORED = "stored"
    NOT_STORED = "not stored"  # the cache could not be written
    NOT_CACHED = "not cached"  # a user factory or module: never cached


class CacheProblem(StrEnum):
    """Why an entry was unreadable, or why one was not stored."""

    OS_ERROR = "os error"
    NOT_AN_ENTRY = "not an entry"  # no header, or not JSON
    FORMAT = "format"  # written by another layout of the cache
    KEY = "key"  # the header's key is not the one asked for: a foreign file
    DIGEST = "digest"  # the body does not match the header's sha256: damaged or truncated
    DECODE = "decode"  # the body does not decode to a profile


@dataclass(frozen=True)
class CacheEvent:
    """One thing the cache did, for the run to report."""

    kind: CacheEventKind
    name: str  # the backbone or head concerned
    path: str
    problem: CacheProblem | None = None
    detail: str = ""  # the operating system's or the decoder's own message

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the cache --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheEntry:
    """One file of the cache, as its header describes it."""

    file: str
    bytes: int
    kind: EntryKind
    name: str
    input_shape: tuple[int, ...]
    input_dtype: str
    batch: int
    dtype: str
    whole: bool
    training: bool
    splitcost: str
    torch: str
    torchvision: str
    current: bool  # made in this environment: a run now can hit it

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d


class CacheAction(StrEnum):
    INFO = "info"
    CLEAR = "clear"


@dataclass(frozen=True)
class CacheSummary:
    """What ``splitcost cache info`` shows, or what ``clear`` removed."""

    action: CacheAction
    directory: str
    exists: bool
    writable: bool
    environment: Environment
    key_fields: tuple[str, ...]
    entries: tuple[CacheEntry, ...]  # info: the entries; clear: those removed
    unreadable: tuple[str, ...]  # files named like entries that are not readable entries
    bytes: int  # of the entries and unreadable files listed
    errors: tuple[tuple[str, str], ...] = ()  # clear: (file, the system's message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "directory": self.directory,
            "exists": self.exists,
            "writable": self.writable,
            "environment": self.environment.to_dict(),
            "key_fields": list(self.key_fields),
            "entries": [e.to_dict() for e in self.entries],
            "unreadable": list(self.unreadable),
            "bytes": self.bytes,
            "errors": [{"file": f, "error": m} for f, m in self.errors],
        }


def _message(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


class ProfileCache:
    """Profiles on disk under ``directory`` (default :func:`cache_dir`)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None,
                 env: Environment | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir()
        self._env = env

    @property
    def env(self) -> Environment:
        if self._env is None:
            self._env = environment()
        return self._env

    @property
    def entries_dir(self) -> Path:
        return self.directory / "profiles"

    def path(self, key: ProfileKey) -> Path:
        return self.entries_dir / f"{key.digest}.json"

    # keys ----------------------------------------------------------------------------------

    def backbone_key(self, backbone: str, spec: InputSpec, *, batch: int, whole: bool,
                     dtype: str, training: tuple[str, tuple[str, ...]] | None = None
                     ) -> ProfileKey:
        return ProfileKey(EntryKind.BACKBONE, canonical_name(backbone), tuple(spec.shape),
                          spec.dtype, batch, dtype, whole, training, self.env)

    def head_key(self, features: int, hidden: int, classes: int, batch: int, dtype: str
                 ) -> ProfileKey:
        return ProfileKey(EntryKind.HEAD, head_name(features, hidden, classes), (features,),
                          dtype, batch, dtype, True, None, self.env)

    # entries -------------------------------------------------------------------------------

    def load(self, key: ProfileKey) -> tuple[Profile | None, CacheEvent]:
        """The stored profile for ``key``, or None (a miss, or an entry it could not use)."""
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None, CacheEvent(CacheEventKind.MISS, key.name, str(path))
        except OSError as e:
            return None, self._unreadable(key, path, CacheProblem.OS_ERROR, _message(e))
        head, _, body = raw.partition(b"\n")
        try:
            header = json.loads(head)
            if not isinstance(header, dict):
                raise ValueError("the header is not an object")
        except ValueError as e:
            return None, self._unreadable(key, path, CacheProblem.NOT_AN_ENTRY, _message(e))
        if header.get("format") != CACHE_FORMAT:
            return None, self._unreadable(key, path, CacheProblem.FORMAT,
                                          f"format {header.get('format')!r}")
        if header.get("key") != key.to_dict():
            return None, self._unreadable(key, path, CacheProblem.KEY, "")
        if header.get("sha256") != hashlib.sha256(body).hexdigest():
            return None, self._unreadable(key, path, CacheProblem.DIGEST, "")
        try:
            profile = _codec.decoder(Profile)(json.loads(body))
        except (ValueError, TypeError, KeyError, IndexError) as e:
            return None, self._unreadable(key, path, CacheProblem.DECODE, _message(e))
        return profile, CacheEvent(CacheEventKind.HIT, key.name, str(path))

    @staticmethod
    def _unreadable(key: ProfileKey, path: Path, problem: CacheProblem, detail: str
                    ) -> CacheEvent:
        return CacheEvent(CacheEventKind.UNREADABLE, key.name, str(path), problem, detail)

    def store(self, key: ProfileKey, profile: Profile) -> CacheEvent:
        """Write ``profile`` under ``key`` atomically; a cache that cannot be written is not an
        error (the event says why)."""
        path = self.path(key)
        body = json.dumps(_codec.encode(profile), separators=(",", ":")).encode()
        header = json.dumps({"format": CACHE_FORMAT, "key": key.to_dict(),
                             "sha256": hashlib.sha256(body).hexdigest()},
                            separators=(",", ":")).encode()
        import tempfile

        temp: str | None = None
        try:
            self.entries_dir.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".json",
                                        dir=self.entries_dir)
            with os.fdopen(fd, "wb") as f:
                f.write(header + b"\n" + body)
            os.replace(temp, path)
            temp = None
        except OSError as e:
            return CacheEvent(CacheEventKind.NOT_STORED, key.name, str(path),
                              CacheProblem.OS_ERROR, _message(e))
        finally:
            if temp is not None:
                with contextlib.suppress(OSError):  # nothing of ours left to remove
                    os.unlink(temp)
        return CacheEvent(CacheEventKind.STORED, key.name, str(path))

    # info and clear ------------------------------------------------------------------------

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.entries_dir.iterdir()
                          if ENTRY.match(p.name) or p.name.startswith(TEMP_PREFIX))
        except OSError:
            return []

    def _entry(self, path: Path) -> CacheEntry | None:
        try:
            with path.open("rb") as f:
                header = json.loads(f.readline())
            size = path.stat().st_size
            key = header["key"]
            env = key["env"]
            current = (header.get("format") == CACHE_FORMAT
                       and env == self.env.to_dict() and path.name == _digest_name(key))
            return CacheEntry(
                path.name, size, EntryKind(key["kind"]), str(key["name"]),
                tuple(int(d) for d in key["input_shape"]), str(key["input_dtype"]),
                int(key["batch"]), str(key["dtype"]), bool(key["whole"]),
                key["training"] is not None, str(env["splitcost"]), str(env["torch"]),
                str(env["torchvision"]), current,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _writable(self) -> bool:
        folder = self.directory
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        return os.access(folder, os.W_OK)

    def info(self) -> CacheSummary:
        entries, unreadable, total = [], [], 0
        for path in self._files():
            entry = self._entry(path) if ENTRY.match(path.name) else None
            if entry is None:
                unreadable.append(path.name)
                total += _size(path)
            else:
                entries.append(entry)
                total += entry.bytes
        return CacheSummary(CacheAction.INFO, str(self.directory), self.directory.exists(),
                            self._writable(), self.env, KEY_FIELDS, tuple(entries),
                            tuple(unreadable), total)

    def clear(self) -> CacheSummary:
        """Remove every entry (and any file named like one); nothing else in the folder."""
        removed, unreadable, errors, total = [], [], [], 0
        for path in self._files():
            entry = self._entry(path) if ENTRY.match(path.name) else None
            size = _size(path)
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # another process removed it first
            except OSError as e:
                errors.append((path.name, _message(e)))
                continue
            total += size
            if entry is None:
                unreadable.append(path.name)
            else:
                removed.append(entry)
        return CacheSummary(CacheAction.CLEAR, str(self.directory), self.directory.exists(),
                            self._writable(), self.env, KEY_FIELDS, tuple(removed),
                            tuple(unreadable), total, tuple(errors))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _digest_name(key: Any) -> str:
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return f"{hashlib.sha256(text.encode()).hexdigest()}.json"


def head_name(features: int, hidden: int, classes: int) -> str:
    """The name a task head's profile carries (as :mod:`splitcost.network.heads` writes it)."""
    return f"head({features}->{hidden}->{classes})"


# --- profiles through the cache -------------------------------------------------------------


def cached_profile(
    backbone: str,
    spec: InputSpec,
    *,
    cache: ProfileCache | None,
    batch: int = 1,
    whole: bool = False,
    dtype: str | None = None,
    training: bool = False,
    optimizer: str = "adamw",
    frozen: Sequence[str] = (),
    backbone_args: tuple[tuple[str, Any], ...] = (),
) -> tuple[Profile, tuple[CacheEvent, ...]]:
    """:func:`splitcost.network.profiler.profile` of a backbone name through ``cache``: a hit
    imports no torch; a miss traces and stores the profile. ``cache=None`` traces."""
    options = (optimizer, tuple(frozen)) if training else None
    events: list[CacheEvent] = []
    key = None
    # The key names one input and no factory arguments: a network built otherwise is traced.
    if cache is not None and (is_user_factory(backbone) or backbone_args or spec.more):
        events.append(CacheEvent(CacheEventKind.NOT_CACHED, backbone.strip(), ""))
    elif cache is not None:
        # A backbone named in the zoo is built in float32: its own precision (dtype None).
        key = cache.backbone_key(backbone, spec, batch=batch, whole=whole,
                                 dtype=dtype or "float32",
                                 training=options)
        found, event = cache.load(key)
        events.append(event)
        if found is not None:
            info = replace(found.backbone, requested=backbone)
            return replace(found, backbone=info), tuple(events)
    from splitcost.network.profiler import profile  # torch: only on a miss

    fresh = profile(backbone, spec, batch=batch, whole=whole, dtype=dtype, training=training,
                    optimizer=optimizer, frozen=frozen, backbone_args=backbone_args)
    # Only what the zoo resolved to the key's own name is stored (a name resolved otherwise,
    # by a future source of networks, is traced each time until its key says what it needs).
    if (key is not None and cache is not None and fresh.backbone.source == "torchvision"
            and fresh.backbone.name == key.name):
        events.append(cache.store(key, fresh))
    return fresh, tuple(events)


def cached_heads(backbone: Profile, tasks: Sequence[Task], hidden: int,
                 cache: ProfileCache | None) -> tuple[tuple[Profile, ...], tuple[CacheEvent, ...]]:
    """:func:`splitcost.network.heads.head_profiles` through ``cache`` (a head's profile
    depends on Z_b's size, the hidden width, the classes, the batch and the precision)."""
    features = sum(m.numel for m in backbone.trace.outputs) // backbone.batch
    found: dict[int, Profile] = {}
    keys: dict[int, ProfileKey] = {}
    events: list[CacheEvent] = []
    if cache is not None:
        for classes in dict.fromkeys(t.classes for t in tasks):
            keys[classes] = cache.head_key(features, hidden, classes, backbone.batch,
                                           backbone.dtype)
            head, event = cache.load(keys[classes])
            events.append(event)
            if head is not None:
                found[classes] = head
    missing = [Task(c) for c in dict.fromkeys(t.classes for t in tasks) if c not in found]
    if missing:
        from splitcost.network.heads import head_profiles  # torch: only on a miss

        for task, head in zip(missing, head_profiles(backbone, missing, hidden), strict=True):
            found[task.classes] = head
            if cache is not None:
                events.append(cache.store(keys[task.classes], head))
    return tuple(found[t.classes] for t in tasks), tuple(events)

