"""`splitcost cache info|clear`: where the profile cache is, what it holds; empty it. No torch."""

from __future__ import annotations

from typing import Annotated

import typer

from splitcost.cli.app import app
from splitcost.cli.options import command
from splitcost.cli.output import show
from splitcost.render.registry import Format

RESULT = "splitcost.network.cache:CacheSummary"


@command(app, result=RESULT)
def cache(
    action: Annotated[str, typer.Argument(help="info (the folder, its entries and their key) "
                                          "or clear (remove every entry).")] = "info",
    fmt: Format = Format.TABLE,
) -> None:
    """The profile cache: where it is, what it holds (info), or empty it (clear)."""
    from splitcost.errors import choice
    from splitcost.network.cache import CacheAction, ProfileCache

    chosen = CacheAction(choice("action", action, [a.value for a in CacheAction]))
    store = ProfileCache()
    show(store.info() if chosen is CacheAction.INFO else store.clear(), fmt)
