"""The command line: help everywhere, one-line errors, non-zero exits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from precursor.cli.main import build_parser

SUBCOMMANDS = [
    "up",
    "migrate",
    "simulate",
    "replay",
    "replay azure-pdm",
    "replay files",
    "ingest",
    "serve",
    "bench",
    "bench ingest",
    "bench simulate",
    "bench score",
    "bench train",
    "status",
    "train",
    "backtest",
    "score",
]


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "precursor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_every_registered_command_is_covered_here() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {s.split()[0] for s in SUBCOMMANDS}


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_cli_every_command_has_help(command: str) -> None:
    result = _run(*command.split(), "--help")
    assert result.returncode == 0
    assert "usage: precursor" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["frobnicate"], ["bench", "ingest", "--samples", "-5"], ["ingest", "--stream", "nope"],
     ["up", "--api-port", "eighty"]],
)  # fmt: skip
def test_cli_bad_argument_is_one_line_and_nonzero(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0]


def test_cli_command_without_a_stack_says_how_to_get_one(tmp_path) -> None:
    result = _run("migrate", env={"PRECURSOR_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "precursor up" in lines[0]


def test_cli_unknown_setting_is_one_line(tmp_path) -> None:
    result = _run("status", env={"PRECURSOR_DATA_DIR": str(tmp_path), "PRECURSOR_KAFKA": "x"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "precursor status: error: unknown setting(s) in the environment: PRECURSOR_KAFKA"
    ]
