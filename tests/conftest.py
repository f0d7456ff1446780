"""Test set-up: the small models of tests/models.py are importable, and only the shipped
profiles are seen unless a test sets SPLITCOST_PROFILES itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPLITCOST_PROFILES", raising=False)
