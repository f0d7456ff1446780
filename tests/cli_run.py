"""The command line run in-process, as the tests call it: exit code, stdout, stderr."""

from __future__ import annotations

import pytest

from splitcost.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
