"""A real-time-paced audio device with no sound card: `jackd -d dummy` (Debian jackd2).

For the tests and the benchmarks (docs/architecture.md "Measured facts"): the dummy
driver runs the callback at the device's pace and reports underflows, which an ALSA null
device does not.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from oomphony.cage.lifeline import stop_process
from oomphony.errors import AudioError
from oomphony.sound.params import SAMPLE_RATE_HZ

PERIOD_FRAMES = 512


def start(name: str, *, rate_hz: int = SAMPLE_RATE_HZ) -> subprocess.Popen:
    """Start a named dummy JACK server and wait until it serves; AudioError if it does not.
    Clients find it with JACK_DEFAULT_SERVER=name (and JACK_NO_START_SERVER=1)."""
    rt = ["-R"] if os.geteuid() == 0 else ["--no-realtime"]
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    proc = subprocess.Popen(
        ["jackd", *rt, "-n", name, "-d", "dummy", "-r", str(rate_hz), "-p", str(PERIOD_FRAMES)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ready = subprocess.run(
        ["jack_wait", "-s", name, "-w", "-t", "10"], env=env, capture_output=True, timeout=15
    )
    if ready.returncode != 0 or proc.poll() is not None:
        stop(proc, name)
        raise AudioError(f"jackd did not start (exit status {proc.poll()})")
    return proc


def stop(proc: subprocess.Popen, name: str) -> None:
    """Stop the server and remove the semaphores it and its clients leave behind."""
    stop_process(proc, term_s=5.0, kill_s=5.0)
    shm, tmp = Path("/dev/shm"), Path("/tmp")
    for leftover in [*shm.glob(f"jack_sem.*_{name}_*"), *tmp.glob(f"jack_{name}_*")]:
        leftover.unlink(missing_ok=True)
