"""Every example runs, quickly, and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))

# What each example must print (figures checked elsewhere against their oracles).
EXPECTED = {
    "paper_table4.py": [
        "forward/backward 724.08 MB",
        "forward/backward 3452.09 MB",
        "LoC, 2 tasks, torchinfo model, batch 32: 7.10 GB of 2.54 GB usable -> does not fit",
        "inference model, batch 1",
        "96.4 s on the link",
    ],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path) -> None:
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip()
    for line in EXPECTED.get(path.name, []):
        assert line in out
