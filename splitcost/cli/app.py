"""The typer application and the entry point that turns every bad input into one line."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

# typer vendors click (0.29 and later); every usage error derives from TyperException.
from typer.exceptions import TyperException as UsageProblem

from splitcost._version import __version__
from splitcost.errors import InputError

# The order commands are listed in --help: the main job first.
ORDER = ("report", "sweep", "profile", "plan", "calibrate", "measure", "export", "plot",
         "devices", "links", "paper")


class _Ordered(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


app = typer.Typer(
    cls=_Ordered,
    add_completion=False,
    no_args_is_help=True,
    help="Where should a neural network run? Memory, payload and latency of running it on an "
    "edge device (LoC, MTL-Local), on a server (RoC), or split between them (MTL-Split, any cut).",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"splitcost {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print splitcost's version and exit.")] = False,
) -> None:
    """Where should a neural network run? Memory, payload and latency of running it on an edge
    device (LoC, MTL-Local), on a server (RoC), or split between them (MTL-Split, any cut)."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line and exit status 2 for any bad input, never a traceback."""
    try:
        code = app(args=argv, prog_name="splitcost", standalone_mode=False)
    except InputError as e:
        from splitcost.cli.options import FLAGS

        _fail(e.for_cli(FLAGS))
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except UsageProblem as e:
        if not e.format_message().strip():
            sys.exit(0)  # no arguments: the help was shown
        ctx = getattr(e, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"{e.format_message()}{where}")
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    # Outside standalone mode a command's typer.Exit(code) comes back as the return value.
    if isinstance(code, int) and code:
        sys.exit(code)


def _fail(message: str, code: int = 2) -> None:
    # One line, whatever the message quotes back from the input.
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    sys.stderr.write(f"splitcost: error: {line}\n")
    sys.exit(code)
