"""Every command, in every format its ``--help`` lists, prints output that parses as that format;
a format it does not list is one line and exit 2, never a silent fallback."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import typer
from cli_run import run

from splitcost.cli import app

FORMAT_NAMES = ("table", "json", "csv", "markdown")

# What each command needs to run quickly ({tmp}: a fresh folder).
ARGS = {
    "report": ["--backbone", "mobilenet", "--tasks", "2"],
    "sweep": ["--backbone", "mobilenet", "--tasks", "2"],
    "plan": ["--backbone", "mobilenet", "--tasks", "2", "--devices", "10"],
    "profile": ["--backbone", "mobilenet"],
    "explore": ["--backbone", "mobilenet,resnet18", "--tasks", "2", "--link", "lte,wifi5"],
    "devices": [],
    "links": [],
    "paper": [],
    "export": ["--backbone", "mobilenet", "--tasks", "2", "--input", "3x64x64",
               "--out", "{tmp}/split"],
    "measure": ["--backbone", "mobilenet", "--tasks", "2", "--input", "3x64x64", "--images",
                "2", "--warmup", "1"],
    "calibrate": ["--out", "{tmp}/host.toml", "--models", "squeezenet1_1", "--min-run-time",
                  "0.01", "--rounds", "1"],
    "cache": ["info"],
}


def listed_formats(command: str) -> tuple[str, ...]:
    """The formats the command's --format help lists."""
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    option = next(p for p in cmd.params if "--format" in p.opts)
    return tuple(w for w in re.findall(r"[a-z]+", option.help) if w in FORMAT_NAMES)


def _check_parses(fmt: str, out: str) -> None:
    if fmt == "json":
        d = json.loads(out)
        assert {"schema_version", "splitcost_version", "kind", "context"} <= set(d)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    elif fmt == "markdown":
        assert out.startswith("### ")
        assert any(line.startswith("| ---") for line in out.splitlines())
    else:
        assert out.strip() and "\n---" in out  # a rich table's header rule


CASES = list(ARGS)  # the slow ones are marked in conftest.py


def test_every_command_has_a_format_option() -> None:
    group = typer.main.get_command(app)
    with_format = {name for name, cmd in group.commands.items()  # type: ignore[attr-defined]
                   if any("--format" in p.opts for p in cmd.params)}
    assert with_format == set(ARGS)
    for command in ARGS:
        assert listed_formats(command)[:2] == ("table", "json")


@pytest.mark.parametrize("command", CASES)
def test_every_listed_format_parses(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    command: str) -> None:
    if command == "cache":  # entries to list: the report's backbone and head
        assert run(capsys, "report", *ARGS["report"])[0] == 0
    for fmt in listed_formats(command):
        where = tmp_path / fmt
        where.mkdir()
        args = [a.format(tmp=where) for a in ARGS[command]]
        code, out, err = run(capsys, command, *args, "--format", fmt)
        assert code == 0, err
        _check_parses(fmt, out)


def test_the_branch_sweep_in_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in listed_formats("sweep"):
        code, out, err = run(capsys, "sweep", *ARGS["sweep"], "--branches", "--format", fmt)
        assert code == 0, err
        _check_parses(fmt, out)
        if fmt == "json":
            d = json.loads(out)
            assert d["kind"] == "branch-sweep" and d["best"] is not None
            assert {"branch", "cut", "tail_params", "total_s"} <= set(d["layouts"][0])


@pytest.mark.parametrize("command", ["report", "devices", "paper", "export", "calibrate"])
def test_an_unlisted_format_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        command: str) -> None:
    missing = [f for f in FORMAT_NAMES if f not in listed_formats(command)] or ["xml"]
    args = [a.format(tmp=tmp_path) for a in ARGS[command]]
    code, out, err = run(capsys, command, *args, "--format", missing[0])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--format: expected one of" in err
