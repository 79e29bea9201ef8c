"""The audio process: a spawned child, outside the cage, that owns the device stream.

Why a process: a busy or GC-ing show thread starves an in-process callback
(docs/architecture.md "The audio process"); a separate interpreter has its own GIL and
its own (frozen, disabled) GC.

Start-up handshake over a socketpair: the child answers once with ("ok", info) or
(kind, message), kind one of "no_portaudio", "no_device", "unknown_device", "error".
Afterwards the pipe carries only "stop". The child dies with its parent
(PR_SET_PDEATHSIG, then a getppid re-check, then getppid polled while it idles).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import mmap
import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from oomphony.cage.lifeline import die_with_parent, preexec, stop_process
from oomphony.cage.protect import lock_memory, lower_oom_score, read_oom_score
from oomphony.sound.params import BLOCK_FRAMES, CHANNELS, SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.shm import CALLBACKS, SIZE, SharedParams

log = logging.getLogger(__name__)

STALL_S = 2.0  # no callback for this long: the device is gone, the audio process ends
# The child imports numpy and PortAudio and warms the synth up: ~0.5 s here, 9–38 s under
# software emulation (the test VM, measured); a slow start costs a wait, not the sound.
HANDSHAKE_TIMEOUT_S = 60.0
# The child's environment: numpy's OpenBLAS with one thread (no thread pool, one buffer:
# ~30 MB less resident, measured with /proc/PID/status); the synth does no linear algebra
# bigger than a 64 × 64 product.
CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _resolve_device(sd: Any, device: str | int | None) -> tuple[int | None, str | None, str]:
    """(device index, error kind, message) for the output device asked for."""
    outputs = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
    if not outputs:
        return None, "no_device", "no audio output device"
    if device is None:
        default = sd.default.device[1]
        if isinstance(default, int) and default >= 0:
            return default, None, ""
        return outputs[0]["index"], None, ""
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    try:
        info = sd.query_devices(device, "output")
    except ValueError:
        names = ", ".join(f"{d['index']}: {d['name']}" for d in outputs)
        return None, "unknown_device", f"unknown audio device {device!r} (outputs: {names})"
    return int(info["index"]), None, ""


def _open_stream(sd: Any, engine_factory: Any, index: int, latency: str | float) -> Any:
    info = sd.query_devices(index)
    rates = [SAMPLE_RATE_HZ, int(info["default_samplerate"])]
    last: Exception | None = None
    for sr in dict.fromkeys(rates):
        engine = engine_factory(sr)
        try:
            return sd.OutputStream(
                samplerate=sr,
                blocksize=BLOCK_FRAMES,
                device=index,
                channels=CHANNELS,
                dtype="float32",
                latency=latency,
                callback=engine.callback,
            )
        except sd.PortAudioError as err:
            last = err
    assert last is not None
    raise last


def child_main(
    conn: Any,
    shared: SharedParams,
    device: str | int | None,
    latency: str | float,
    parent_pid: int,
    shield: bool = False,
) -> None:
    """The audio process's body. `shield` (--global): oom_score_adj −1000 as well."""
    die_with_parent(parent_pid, exit_status=0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the show's to handle
    try:
        import sounddevice as sd
    except OSError as err:
        conn.send(("no_portaudio", str(err)))
        return
    from oomphony.sound.engine import Engine

    try:
        index, kind, message = _resolve_device(sd, device)
        if kind is not None:
            conn.send((kind, message))
            return
        assert index is not None
        stream = _open_stream(sd, lambda sr: Engine(shared, sr), index, latency)
        # The engine rendered every voice once (its warm-up): those pages are touched.
        # Lock before start: locking pages must not stall a callback.
        mlock = lock_memory()
        score = lower_oom_score() if shield else str(read_oom_score())
        gc.collect()
        gc.freeze()
        gc.disable()  # nothing here makes cycles; a collection must never stall a callback
        stream.start()
    except Exception as err:  # PortAudioError and friends: one line to the show
        conn.send(("error", str(err) or type(err).__name__))
        return
    dev = sd.query_devices(index)
    info = {
        "hostapi": sd.query_hostapis(dev["hostapi"])["name"],
        "device": dev["name"],
        "samplerate": int(stream.samplerate),
        "blocksize": int(stream.blocksize),
        "latency_s": float(stream.latency),
        "mlock": mlock,
        "oom_score_adj": score,
    }
    conn.send(("ok", info))
    try:
        calls, last_progress = -1.0, time.monotonic()
        while os.getppid() == parent_pid:
            if conn.poll(0.25) and conn.recv() == "stop":
                break
            now = time.monotonic()
            if shared.stats[CALLBACKS] != calls:
                calls, last_progress = shared.stats[CALLBACKS], now
            elif now - last_progress > STALL_S or not stream.active:
                # the device went away (e.g. the JACK server quit); stopping the stream
                # would wait forever for a callback that never comes
                os._exit(3)
    except (EOFError, OSError):
        pass  # the show is gone
    finally:
        with contextlib.suppress(Exception):  # a vanished server may refuse politely
            stream.stop()
            stream.close()


def _attach(fd: int) -> SharedParams:
    return SharedParams(mmap.mmap(fd, SIZE * 8))


def main(argv: list[str]) -> None:
    """Entry of `python -m oomphony.sound.process SHM_FD CONN_FD PARENT_PID LATENCY
    shield|plain [DEVICE]`."""
    shm_fd, conn_fd, parent_pid = int(argv[0]), int(argv[1]), int(argv[2])
    latency: str | float = argv[3]
    with contextlib.suppress(ValueError):
        latency = float(argv[3])
    shield = argv[4] == "shield"
    device = argv[5] if len(argv) > 5 else None
    conn = Connection(conn_fd)
    child_main(conn, _attach(shm_fd), device, latency, parent_pid, shield)


class AudioProcess:
    """The show's handle on the audio child: start, handshake, graduated stop.

    The child is a fresh interpreter (`python -m oomphony.sound.process`), not a
    multiprocessing spawn: spawn re-imports the show's `__main__`, which would run the
    show again. Parameters live in an anonymous memfd both sides map; the control
    channel is a socketpair; both are passed as inherited file descriptors."""

    def __init__(
        self, device: str | int | None, latency: str | float, *, shield: bool = False
    ) -> None:
        shm_fd = os.memfd_create("oomphony-audio", 0)
        os.ftruncate(shm_fd, SIZE * 8)
        self.shared = _attach(shm_fd)
        SoundParams().to_array(self.shared.params)
        ours, theirs = socket.socketpair()
        self._conn = Connection(ours.detach())
        args = [str(shm_fd), str(theirs.fileno()), str(os.getpid()), str(latency)]
        args.append("shield" if shield else "plain")
        if device is not None:
            args.append(str(device))
        quiet = not os.environ.get("OOMPHONY_AUDIO_DEBUG")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oomphony.sound.process", *args],
            pass_fds=(shm_fd, theirs.fileno()),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if quiet else None,
            stderr=subprocess.DEVNULL if quiet else None,  # PortAudio/JACK chatter
            preexec_fn=preexec(),
            env={**os.environ, **CHILD_ENV},
        )
        theirs.close()
        os.close(shm_fd)  # the mapping stays
        self._stopped = False
        atexit.register(self.stop)

    def handshake(self, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> tuple[str, Any]:
        try:
            if self._conn.poll(timeout_s):
                return self._conn.recv()
        except (EOFError, OSError):
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(1.0)
        status = self.proc.poll()
        if status is None:
            return "error", f"audio process did not answer in {timeout_s:g} s"
        return "error", f"audio process ended at start-up (exit status {status})"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ask, wait, terminate, kill. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        stop_process(
            self.proc,
            ask=lambda: self._conn.send("stop"),
            ask_s=timeout_s,
            term_s=1.0,
            kill_s=1.0,
            on_term=lambda: log.warning("audio process did not stop when asked: terminating it"),
        )
        self._conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
