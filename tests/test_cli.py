"""The command line's contract: bad input is one clear line and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from oomphony.cli.command import main


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oomphony", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"},
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["record", "t.jsonl", "--memory", "banana"], "--memory must look like"),
        (["record", "t.jsonl", "--rate", "-5MiB/s"], "--rate must look like"),
        (["record", "t.jsonl", "--rate", "0MiB/s"], "--rate must be more than zero"),
        (["record", "/nonexistent-dir/t.jsonl", "--memory", "64MiB"], "cannot write trace"),
        (["record", "t.jsonl", "--memory", "64TiB"], "is more than this machine has"),
        (["record", "t.jsonl", "--global", "--memory", "64MiB", "--yes"], "--global has no cage"),
        (["record", "t.jsonl", "--global", "--unprotected"], "--global needs a confirmation"),
        (["record"], "required"),
        (["frobnicate"], "invalid choice"),
        (["run", "--speed", "fast"], "--speed must be a number"),
        (["run", "--display", "hologram"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args: list[str], needle: str) -> None:
    args = [a if a != "t.jsonl" else str(tmp_path / "t.jsonl") for a in args]
    out = run_cli(*args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert needle in lines[0]
    assert "Traceback" not in out.stderr


def test_doctor_exits_zero_and_names_every_capability(capsys) -> None:
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    for name in ("kernel", "cage", "swap", "pressure", "kernel log", "audio", "display", "KMSDRM"):
        assert name in text


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("oomphony ")
