"""The ``splitcost`` command: parses options, calls the API, renders. No logic of its own.

One module per command; importing them registers them on :data:`app`. torch is imported only by
the commands that trace a network, so ``--help``, ``devices`` and ``links`` answer at once.
"""

from splitcost.cli import (  # noqa: F401  (registration)
    cache,
    calibrate,
    catalog,
    explore,
    export,
    measure,
    paper,
    plan,
    plot,
    profile,
    report,
    sweep,
)
from splitcost.cli.app import app, main

__all__ = ["app", "main"]
