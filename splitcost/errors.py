"""The one exception type that reaches the user as a single line and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InputError(ValueError):
    """Bad input from the user: an unknown name, a malformed value, an invalid profile file.

    The message is one sentence that says what was wrong and what is expected; the CLI prints it
    as is and exits with status 2.
    """


def closest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to ``name`` (for "did you mean" lines)."""
    pool = sorted(set(known))
    lowered = {k.lower(): k for k in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    if not hits:
        hits = [k for k in lowered if name.lower() in k or k in name.lower()][:n]
    return [lowered[h] for h in hits]


def unknown_name(what: str, name: str, known: Iterable[str], hint: str = "") -> InputError:
    """``unknown backbone 'efficentnet'; closest: efficientnet, efficientnet_b0``."""
    near = closest(name, known)
    text = f"unknown {what} {name!r}"
    if near:
        text += f"; closest: {', '.join(near)}"
    if hint:
        text += f"; {hint}"
    return InputError(text)
