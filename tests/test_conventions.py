"""The conventions every command shares: one atomic writer that honours the umask, progress on
stderr only when stderr is a terminal, an option given twice refused, one backbone per report."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
from cli_run import run

from splitcost._files import atomic_open
from splitcost.cli.progress import progress_bar


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_atomic_write_honours_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with atomic_open(tmp_path / "a.toml") as fh:
            fh.write("x = 1\n")
    finally:
        os.umask(old)
    # What open() gives a new file under that umask, found by asking open() itself.
    probe = tmp_path / "probe"
    old = os.umask(umask)
    try:
        probe.write_text("")
    finally:
        os.umask(old)
    assert (tmp_path / "a.toml").stat().st_mode & 0o777 == probe.stat().st_mode & 0o777
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "probe"]


def test_atomic_write_keeps_the_replaced_files_mode_and_leaves_nothing_on_failure(
        tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    target.write_text("old")
    target.chmod(0o640)
    with atomic_open(target) as fh:
        fh.write("new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


def test_progress_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with progress_bar() as tick:
        assert tick is None  # pytest's stderr is not a terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    with progress_bar() as tick:
        assert tick is not None
        tick("profiling", 1, 4)
        tick("pricing", 4, 4)


def test_an_option_given_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "report", "--backbone", "resnet18", "-b", "efficientnet")
    assert code == 2 and out == ""
    assert err == ("splitcost: error: --backbone: given 2 times; give it once (to compare "
                   "backbones side by side: splitcost explore --backbone a,b)\n")
    code, _, err = run(capsys, "sweep", "--link=lte", "--link", "wifi5")
    assert code == 2 and "--link: given 2 times" in err
    code, _, err = run(capsys, "report", "--cut", "layer1", "--cut", "layer2", "-b", "resnet18")
    assert code == 0  # --cut is repeatable


def test_one_backbone_per_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "report", "--backbone", "resnet18,efficientnet")
    assert code == 2 and out == "" and "splitcost explore --backbone a,b" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from splitcost import __version__

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"splitcost {__version__}\n"
