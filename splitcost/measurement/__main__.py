"""``python -m splitcost.measurement FD CONFIG_JSON TIMEOUT THREADS``: the loopback server that
:func:`splitcost.measurement.spawn.spawn_server` starts."""

from __future__ import annotations

import sys

from splitcost.measurement.server import _child_main

if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
