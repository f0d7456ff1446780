"""Fuzz the split server with frame sequences for minutes (not part of CI; a short run is).

Runs the hypothesis state machine of ``tests/server_machine.py`` against one server thread on
loopback, over and over with fresh random seeds, until the time is up; any failed check (a
wrong answer, a hang, a dead server) stops the run and prints hypothesis's shortest failing
sequence. At the end it prints one JSON line: the seconds run, the sequences and steps, the
connections the server served by how they ended, and whether it is still alive.

Run: .venv/bin/python fuzz/fuzz_server.py [seconds, default 600]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from server_machine import Server, ServerMachine, good_round_trip


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 600.0
    server = Server.get()
    start = time.monotonic()
    rounds = 0
    failure = None
    while time.monotonic() - start < seconds:
        try:
            run_state_machine_as_test(ServerMachine, settings=settings(
                max_examples=20, stateful_step_count=50, deadline=None, database=None,
                suppress_health_check=list(HealthCheck)))
        except Exception as e:  # a finding: print it whole and stop
            failure = f"{type(e).__name__}: {e}"
            break
        rounds += 1
    good_round_trip(server, 12345)
    report = {
        "seconds": round(time.monotonic() - start, 1),
        "rounds": rounds,
        "sequences": rounds * 20,
        "steps": ServerMachine.steps_run,
        "connections": {str(k): v for k, v in sorted(server.outcomes.items())},
        "server_alive": server.alive(),
        "failure": failure,
    }
    print(json.dumps(report))
    return 0 if failure is None and server.alive() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
