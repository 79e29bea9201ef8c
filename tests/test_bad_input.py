"""Every path and value a user gives, walked through the real command line: a bad one is
exactly one line on stderr, exit status 2, no traceback, and nothing started.

Paths that cannot be written are real: a missing directory, a directory where a file is
expected (and the reverse), a file where a directory is expected, and a read-only file
system (a read-only tmpfs mounted for the test as root, a mode 0555 directory otherwise).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TRACE = Path(__file__).resolve().parents[1] / "assets" / "traces" / "cage-256MiB.jsonl"
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}


@pytest.fixture(scope="module")
def read_only_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory nobody may write into, not even root (a read-only file system)."""
    d = tmp_path_factory.mktemp("ro")
    (d / "sub").mkdir()
    if os.geteuid() != 0:
        d.chmod(0o555)
        yield d
        d.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m,mode=0755", "tmpfs", str(d)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {mounted.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, read_only_dir: Path) -> dict[str, str]:
    d = tmp_path_factory.mktemp("inputs")
    (d / "broken.toml").write_text('[show]\ntitle = "x"\n[[act]\nname = "a"\n')
    (d / "wrong.toml").write_text('[show]\ntitle = "x"\n[[act]]\nname = "a"\nrate = "fast"\n')
    (d / "garbage.jsonl").write_bytes(bytes(range(256)) * 8)
    (d / "empty.jsonl").write_bytes(b"")
    header = TRACE.read_text().splitlines()[0]
    (d / "header-only.jsonl").write_text(header + "\n")
    first, second = TRACE.read_text().splitlines()[1:3]
    (d / "broken-middle.jsonl").write_text(f"{header}\n{first}\n{{not json\n{second}\n")
    (d / "a-file").write_text("a file, not a directory\n")
    (d / "a-dir").mkdir()
    (d / "new.jsonl").unlink(missing_ok=True)
    return {
        "DIR": str(d),
        "RO": str(read_only_dir),
        "TRACE": str(TRACE),
        **{p.stem: str(p) for p in d.iterdir()},  # "{broken}" is broken.toml
    }


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oomphony", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=ENV,
    )


# (command line with {placeholders}, a phrase the one line must hold)
CASES = [
    # sizes
    ("run --memory banana", "--memory must look like"),
    ("run --memory 1MiB", "--memory must be at least"),
    ("run --memory 64TiB", "is more than this machine has"),
    ("run --swap lots", "--swap"),
    ("record {DIR}/new.jsonl --cache 1x", "--cache must look like"),
    ("record {DIR}/new.jsonl --memory 64MiB --cache 64MiB", "must be smaller than the cage"),
    ("record {DIR}/new.jsonl --sleeper -3MiB", "--sleeper must look like"),
    # rates
    ("record {DIR}/new.jsonl --rate fast", "--rate must look like"),
    ("record {DIR}/new.jsonl --rate 0", "--rate must be more than zero"),
    ("record {DIR}/new.jsonl --rate -5MiB/s", "--rate must look like"),
    # speeds
    ("run --backend sim --speed 0", "--speed must be more than zero"),
    ("run --backend sim --speed -2", "--speed must be more than zero"),
    ("run --backend sim --speed inf", "--speed must be more than zero"),
    ("run --backend sim --speed nan", "--speed must be more than zero"),
    ("run --backend sim --speed fast", "--speed must be a number"),
    ("run --backend live --speed 2", "--speed works with the sim and replay backends"),
    # durations
    ("run --backend sim --duration 0", "--duration must be more than zero"),
    ("run --backend sim --duration soon", "--duration must be a number"),
    ("record {DIR}/new.jsonl --duration -1", "--duration must be more than zero"),
    # shows
    ("run kiosk --backend sim --shows 0", "--shows must be at least 1"),
    ("run kiosk --backend sim --shows two", "--shows must be a whole number"),
    # seeds
    ("run --backend sim --seed x", "--seed must be a whole number"),
    ("run --backend sim --seed -1", "--seed must be at least 0"),
    ("run --backend sim --seed 1.5", "--seed must be a whole number"),
    # latency, audio
    ("run --backend sim --no-audio --latency banana", "--latency must be low, high or seconds"),
    ("run --backend sim --latency 5", "--latency must be low, high or seconds"),
    ("record {DIR}/new.jsonl --latency -1", "--latency must be low, high or seconds"),
    ("run --backend sim --no-audio --audio-device 0", "--no-audio plays none"),
    # setlists
    ("run nosuchshow --backend sim", "unknown setlist 'nosuchshow'"),
    ("record {DIR}/new.jsonl nosuchshow", "unknown setlist 'nosuchshow'"),
    ("run {broken} --backend sim", "broken.toml:3: not valid TOML"),
    ("run {wrong} --backend sim", "wrong.toml:"),
    ("run {DIR}/missing.toml --backend sim", "cannot read setlist"),
    # traces
    ("run --trace {DIR}/missing.jsonl", "cannot read trace"),
    ("run --trace {a-dir}", "cannot read trace"),
    ("run --trace {garbage}", ":1: not an oomphony trace"),
    ("run --trace {empty}", "empty file"),
    ("run --trace {header-only}", "holds no frames"),
    ("run --trace {broken-middle}", ":3: malformed trace line"),
    ("run --trace {TRACE} {broken}", "broken.toml:3"),
    ("run --backend replay", "--backend replay needs --trace"),
    ("run --backend sim --trace {TRACE}", "does not go with --backend sim"),
    ("run --trace {TRACE} --memory 256MiB", "a replay shows the cage of its trace"),
    ("run --trace {TRACE} --global --yes", "a replay shows the cage of its trace"),
    # paths the show would write
    ("run --backend sim --record {DIR}/no/such/dir/t.jsonl", "there is no directory"),
    ("run --backend sim --record {a-dir}", "it is a directory"),
    ("run --backend sim --record {a-file}/t.jsonl", "is not a directory"),
    ("run --backend sim --record {RO}/t.jsonl", "read-only"),
    ("run --backend sim --audio-out {RO}/t.wav", "cannot write audio file"),
    ("run --backend sim --audio-out {a-dir}", "it is a directory"),
    ("run --backend sim --no-audio --audio-out {DIR}/no/t.wav", "there is no directory"),
    ("run --backend sim --screenshots {RO}", "cannot write screenshots"),
    ("run --backend sim --screenshots {RO}/shots", "cannot write screenshots"),
    ("run --backend sim --screenshots {a-file}", "not a directory"),
    ("run --backend sim --display none --screenshots {a-file}/shots", "cannot write screenshots"),
    ("run --trace {TRACE} --record {TRACE}", "would overwrite the trace being replayed"),
    ("run --backend sim --record {DIR}/x --audio-out {DIR}/x", "are the same file"),
    ("record {RO}/t.jsonl", "cannot write trace"),
    ("record {DIR}/no/t.jsonl speedrun", "there is no directory"),
    ("record {DIR}/new.jsonl --audio-out {RO}/t.wav", "cannot write audio file"),
    # --global and its confirmation
    ("run --global --unprotected", "--global needs a confirmation"),
    ("record {DIR}/new.jsonl --global --unprotected", "--global needs a confirmation"),
    ("run --global --yes --memory 64MiB", "--global has no cage"),
    # options a command would ignore
    ("record {DIR}/new.jsonl speedrun --rate 50MiB/s", "with a setlist, its acts set"),
    ("record {DIR}/new.jsonl speedrun --cache 16MiB", "with a setlist, its acts set"),
    ("record {DIR}/new.jsonl speedrun --sleeper 16MiB", "with a setlist, its acts set"),
    # render: its setlist, trace, file and picture
    ("render {DIR}/o.mp4 nosuchshow", "unknown setlist 'nosuchshow'"),
    ("render {DIR}/o.mp4 {broken}", "broken.toml:3: not valid TOML"),
    ("render {DIR}/o.mp4 --trace {DIR}/missing.jsonl", "cannot read trace"),
    ("render {DIR}/o.mp4 --trace {garbage}", ":1: not an oomphony trace"),
    ("render {DIR}/o.mp4 --trace {header-only}", "holds no frames"),
    ("render {RO}/o.mp4", "read-only"),
    ("render {DIR}/no/such/dir/o.mp4", "there is no directory"),
    ("render {a-dir}", "it is a directory"),
    ("render {DIR}/o.avi", "the name must end in .mp4, .webm, .gif, .wav"),
    ("render {DIR}/o.mp4 --size 0x0", "--size 0x0: width and height must be"),
    ("render {DIR}/o.mp4 --size 321x180", "must be even"),
    ("render {DIR}/o.mp4 --size 320x-2", "--size 320x-2: width and height must be"),
    ("render {DIR}/o.mp4 --size big", "--size must look like 1280x720"),
    ("render {DIR}/o.mp4 --fps 0", "--fps must be at least 1"),
    ("render {DIR}/o.mp4 --fps -30", "--fps must be at least 1"),
    ("render {DIR}/o.mp4 --fps 1000", "--fps must be 1–240"),
    ("render {DIR}/o.mp4 --speed 0", "--speed must be more than zero"),
    ("render {DIR}/o.mp4 --sound loud", "invalid choice"),
    ("render {TRACE}", "the name must end in"),
    ("render", "required"),
    # the parser's own refusals
    ("run --display hologram", "invalid choice"),
    ("run --backend quantum", "invalid choice"),
    ("frobnicate", "invalid choice"),
    ("record", "required"),
]


@pytest.mark.parametrize(("line", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(files: dict[str, str], line: str, needle: str):
    args = [a.format(**files) for a in line.split()]
    out = cli(*args)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("oomphony: ")
    assert needle in lines[0], lines[0]
    assert not Path(files["DIR"], "new.jsonl").exists()  # nothing was started or written
    assert not [p for p in Path(files["DIR"]).iterdir() if p.name.startswith((".o.", "o."))]


def test_the_paths_above_really_are_unwritable(files: dict[str, str]) -> None:
    """The read-only directory refuses even root (else the cases above prove nothing)."""
    with pytest.raises(OSError):
        Path(files["RO"], "probe").write_text("x")


def test_a_good_command_line_still_runs(files: dict[str, str], tmp_path: Path) -> None:
    """The same checks let a good run through: paths made, one show, exit 0."""
    shots = tmp_path / "new" / "shots"
    out = cli(
        "run", "speedrun", "--backend", "sim", "--speed", "8", "--display", "none",
        "--no-audio", "--latency", "low", "--seed", "3",
        "--record", str(tmp_path / "t.jsonl"), "--audio-out", str(tmp_path / "t.wav"),
        "--screenshots", str(shots),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert [p.suffix for p in shots.iterdir()][:1] == [".png"]  # the directory was made
    header = json.loads((tmp_path / "t.jsonl").read_text().splitlines()[0])
    assert header["options"]["seed"] == 3 and header["options"]["latency"] == "low"


def test_screenshots_that_fail_mid_show_stop_with_one_warning(tmp_path: Path) -> None:
    """The screenshot folder turns read-only while the show runs (a full or failing disk):
    the screenshots stop with one warning line and the show goes on to its end."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs and turn it read-only mid-show")
    shots = tmp_path / "shots"
    shots.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(shots)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "sim",
             "--no-audio", "--speed", "4", "--screenshots", str(shots)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not list(shots.glob("*.png")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no first screenshot"
            time.sleep(0.05)
        # A PNG still being written keeps the mount busy: try again until it is closed.
        while subprocess.run(
            ["mount", "-o", "remount,ro", str(shots)], capture_output=True
        ).returncode:
            assert proc.poll() is None and time.monotonic() < deadline, (
                "could not remount read-only"
            )
            time.sleep(0.01)
        taken = len(list(shots.glob("*.png")))
        _, err = proc.communicate(timeout=120)
    finally:
        if "proc" in locals() and proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["umount", str(shots)], check=False)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if "screenshots stop" in line]
    assert len(warnings) == 1, err
    assert taken < 5  # speedrun has five acts: the later ones could not be written
