"""The one exception type that reaches the user as a single line and exit code 2."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping


class InputError(ValueError):
    """Bad input from the user: an unknown name, a malformed value, an invalid profile file.

    The message is one sentence that says what was wrong and what is expected. ``parameter``
    names the API parameter it is about (``tasks``, ``payload_dtype``); the library writes it
    before the message, the CLI writes the option's flag instead (:meth:`for_cli`).
    """

    def __init__(self, message: str, *, parameter: str | None = None):
        super().__init__(message)
        self.message = message
        self.parameter = parameter

    def __str__(self) -> str:
        return f"{self.parameter}: {self.message}" if self.parameter else self.message

    def about(self, parameter: str) -> InputError:
        """The same error, said of ``parameter`` (unless it already names one)."""
        return self if self.parameter else InputError(self.message, parameter=parameter)

    def for_cli(self, flags: Mapping[str, str]) -> str:
        """The message with the parameter written as its command-line flag."""
        if self.parameter is None:
            return self.message
        return f"{flags.get(self.parameter, self.parameter)}: {self.message}"


def closest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to ``name`` (for "did you mean" lines)."""
    pool = sorted(set(known))
    lowered = {k.lower(): k for k in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    if not hits:
        hits = [k for k in lowered if name.lower() in k or k in name.lower()][:n]
    return [lowered[h] for h in hits]


def unknown_name(what: str, name: str, known: Iterable[str], hint: str = "",
                 parameter: str | None = None) -> InputError:
    """``unknown backbone 'efficentnet'; closest: efficientnet, efficientnet_b0``."""
    near = closest(name, known)
    text = f"unknown {what} {name!r}"
    if near:
        text += f"; closest: {', '.join(near)}"
    if hint:
        text += f"; {hint}"
    return InputError(text, parameter=parameter)


def choice(parameter: str, value: object, allowed: Iterable[str]) -> str:
    """One of ``allowed``, whatever its case; else one line with the choices."""
    options = tuple(allowed)
    key = value.strip().lower() if isinstance(value, str) else None
    if key is None or key not in options:
        raise InputError(f"expected one of {', '.join(options)}, got {value!r}",
                         parameter=parameter)
    return key


def positive_int(parameter: str, value: object, *, at_least: int = 1,
                 at_most: int | None = None) -> int:
    """An integer (not a bool, not a float) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"expected an integer, got {type(value).__name__} {value!r}",
                         parameter=parameter)
    if value < at_least:
        raise InputError(f"expected at least {at_least}, got {value}", parameter=parameter)
    if at_most is not None and value > at_most:
        raise InputError(f"expected at most {at_most:,}, got {value:,}", parameter=parameter)
    return value


def positive_number(parameter: str, value: object, what: str) -> float:
    """A finite number above zero (``what`` says what it counts, for the message)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a positive number of {what}, got {value!r}",
                         parameter=parameter)
    number = float(value)
    if not (number > 0 and math.isfinite(number)):
        raise InputError(f"expected a positive number of {what}, got {value!r}",
                         parameter=parameter)
    return number
