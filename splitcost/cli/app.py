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
ORDER = ("report", "sweep", "explore", "profile", "plan", "calibrate", "measure", "export", "plot",
         "devices", "links", "paper", "cache")


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


# Set by the global --traceback flag: a one-line error is preceded by the whole traceback of
# what caused it (the user's factory, a library, the network's forward).
SHOW_TRACEBACK = {"on": False}


def _traceback(value: bool) -> None:
    SHOW_TRACEBACK["on"] = value


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"splitcost {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print splitcost's version and exit.")] = False,
    traceback: Annotated[bool, typer.Option(
        "--traceback", callback=_traceback, is_eager=True,
        help="On an error, also print the whole traceback of its cause (your factory, a "
        "library, the network's forward) before the one-line message.")] = False,
) -> None:
    """Where should a neural network run? Memory, payload and latency of running it on an edge
    device (LoC, MTL-Local), on a server (RoC), or split between them (MTL-Split, any cut)."""


def repeated_option(argv: list[str]) -> str | None:
    """The first option that takes one value and is given more than once (click keeps the last
    one silently: ``--backbone a --backbone b`` would price b alone)."""
    from typer.core import TyperOption

    group = typer.main.get_command(app)
    name = next((a for a in argv if not a.startswith("-")), None)
    commands = getattr(group, "commands", {})
    sub = commands.get(name) if name else None
    if sub is None or name is None:
        return None
    rest = argv[argv.index(name) + 1:]
    for param in sub.params:
        if not isinstance(param, TyperOption) or param.multiple or param.is_flag:
            continue
        opts = [*param.opts, *param.secondary_opts]
        count = sum(1 for a in rest if a in opts or any(a.startswith(o + "=") for o in opts
                                                       if o.startswith("--")))
        if count > 1:
            hint = (" (to compare backbones side by side: splitcost explore --backbone a,b)"
                    if param.name == "backbone" else "")
            return f"{max(opts, key=len)}: given {count} times; give it once{hint}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line and exit status 2 for any bad input, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    problem = repeated_option(args)
    if problem:
        _fail(problem)
    SHOW_TRACEBACK["on"] = False
    try:
        code = app(args=args, prog_name="splitcost", standalone_mode=False)
    except InputError as e:
        from splitcost.cli.options import FLAGS

        if SHOW_TRACEBACK["on"]:
            import traceback

            sys.stderr.write("".join(traceback.format_exception(e)))
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
