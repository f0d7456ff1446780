"""``python -m splitcost.deploy.measurement FD CONFIG_JSON TIMEOUT THREADS``: the loopback server
that
:func:`splitcost.deploy.measurement.spawn.spawn_server` starts."""

from __future__ import annotations

import sys

from splitcost.deploy.measurement.server import _child_main

if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
