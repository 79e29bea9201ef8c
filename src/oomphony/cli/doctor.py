"""`oomphony doctor`: what this machine offers the show, and what will fall back.

Every probe is a small function returning a `Check`; the table is printed whatever is
missing, and the exit status is always 0.
"""

from __future__ import annotations

import errno
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from oomphony.cage.cage import Cage
from oomphony.cage.methods import ScopeMethod
from oomphony.sources.killwatch import journal_kernel_readable
from oomphony.telemetry.cgroupfs import find_memory_controller
from oomphony.units import MiB, format_size


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fallback: str = ""  # what the show does without it ("" when ok)


def check_kernel() -> Check:
    return Check("kernel", True, f"Linux {platform.release()} ({platform.machine()})")


def check_cage() -> Check:
    """Try the real thing: make a small cage and remove it again."""
    from oomphony.errors import OomphonyError

    mc = find_memory_controller()
    where = []
    if mc.v1_root:
        where.append(f"v1 at {mc.v1_root}")
    if mc.v2_root:
        where.append(f"v2 at {mc.v2_root}" + ("" if mc.v2_has_memory else " (no memory)"))
    ctl = ", ".join(where) or "no cgroup memory controller"
    try:
        cage = Cage.create(64 * MiB, 0)
    except OomphonyError as err:
        return Check("cage", False, f"{ctl}; {err}", "--backend sim, or --global (no cage)")
    how = cage.how
    try:
        if isinstance(cage.method, ScopeMethod):  # a scope exists only with a process in it
            _try_scope(cage)
    except OomphonyError as err:
        return Check("cage", False, f"{ctl}; {how}: {err}", "--backend sim, or --global")
    finally:
        cage.remove()
    root = "as root" if os.geteuid() == 0 else "without root"
    return Check("cage", True, f"{ctl}; a cage can be made {root}: {how}")


def _try_scope(cage: Cage) -> None:
    """Start a sleeping process in a systemd scope and check its memory limit is set."""
    from oomphony.errors import CageError

    argv = cage.wrap_argv([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)  # fmt: skip
    except OSError as err:
        raise CageError(f"cannot run systemd-run: {err.strerror}") from err
    try:
        try:
            cage.bind_pid(proc.pid)
        except CageError:
            proc.wait()
            why = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise CageError(why.splitlines()[-1] if why else "systemd-run failed") from None
        limit = (cage.ref.path / "memory.max").read_text().strip()
        if limit != str(cage.memory_b):
            raise CageError(f"the scope's memory.max is {limit}, not {cage.memory_b}")
    except OSError as err:
        raise CageError(f"cannot read the scope's memory.max: {err.strerror}") from err
    finally:
        cage.remove()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def check_swap() -> Check:
    try:
        rows = Path("/proc/swaps").read_text().strip().splitlines()[1:]
    except OSError:
        rows = []
    if not rows:
        return Check("swap", False, "no swap active", "the swap act is skipped (captioned)")
    total = sum(int(r.split()[2]) * 1024 for r in rows)
    used = sum(int(r.split()[3]) * 1024 for r in rows)
    return Check(
        "swap", True, f"{len(rows)} area(s), {format_size(total)}, {format_size(used)} used"
    )


def check_psi() -> Check:
    p = Path("/proc/pressure/memory")
    try:
        p.read_text()
    except OSError as err:
        why = "not in this kernel" if err.errno == errno.ENOENT else err.strerror
        return Check("pressure (PSI)", False, f"{p}: {why}", "pressure gauges show '—'")
    return Check("pressure (PSI)", True, f"{p} readable")


def check_kmsg() -> Check:
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.close(fd)
        return Check("kernel log", True, "/dev/kmsg readable: the kernel's own line is shown")
    except OSError as err:
        reason = f"/dev/kmsg: {err.strerror}"
    journal = journal_kernel_readable()
    if journal is True:
        return Check("kernel log", True, f"{reason}; journalctl -k will be used instead")
    why = "no journalctl" if journal is None else "journalctl -k shows this user nothing"
    hint = "the kill is shown without the kernel's line (add the user to group adm)"
    return Check("kernel log", False, f"{reason}; {why}", hint)


def check_audio() -> Check:
    try:
        import sounddevice as sd
    except OSError:
        return Check("audio", False, "no PortAudio library", "silent show (install libportaudio2)")
    try:
        outputs = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
    except Exception as err:  # PortAudio errors are not a stable type across versions
        return Check("audio", False, f"PortAudio error: {err}", "silent show")
    if not outputs:
        return Check("audio", False, "PortAudio found, no output device", "silent show")
    names = ", ".join(d["name"] for d in outputs[:3])
    return Check("audio", True, f"{len(outputs)} output device(s): {names}")


def check_mlock() -> Check:
    """The audio process's own mlockall, tried here and undone: what the show will get."""
    from oomphony.cage.protect import lock_memory, unlock_memory

    result = lock_memory()
    unlock_memory()
    if result.startswith("refused"):
        return Check(
            "mlockall",
            False,
            result,
            "the audio process runs unlocked (a page fault may cost an underflow)",
        )
    return Check("mlockall", True, f"{result}: the audio process locks its memory")


def check_global() -> Check:
    """Which protections a `--global` show would have here (cage/protect.py)."""
    from oomphony.cage.protect import can_protect
    from oomphony.show.shield import oomd_notice

    reasons = can_protect()
    oomd = oomd_notice()
    if oomd:
        reasons.append(oomd)
    if reasons:
        return Check(
            "--global",
            False,
            "; ".join(reasons),
            "--global is refused (add --unprotected to run it anyway, unshielded)",
        )
    return Check(
        "--global",
        True,
        "the show and the audio process would lock their memory (mlockall) and set "
        "oom_score_adj -1000; the allocator volunteers at 1000",
    )


# What the audio process loads and touches before its stream starts (sound/process.py).
_AUDIO_FOOTPRINT = """
import numpy as np, sounddevice
from oomphony.sound.shm import SIZE, SharedParams
from oomphony.sound.engine import Engine
from oomphony.cage.protect import footprint
import mmap
Engine(SharedParams(mmap.mmap(-1, SIZE * 8)), 48000)
fp = footprint()
print(fp["VmRSS"] - fp.get("RssShmem", 0))
"""


def check_footprint() -> Check:
    """Resident memory: the audio process's (its imports and the synth, in a child with
    its environment; no stream opened) and this process's (the CLI, no picture)."""
    from oomphony.cage.protect import footprint
    from oomphony.sound.process import CHILD_ENV

    try:
        out = subprocess.run(
            [sys.executable, "-c", _AUDIO_FOOTPRINT],
            capture_output=True, text=True, timeout=60, env={**os.environ, **CHILD_ENV},
        )  # fmt: skip
        audio_b = int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return Check("footprint", False, "the audio process's imports failed", "silent show")
    own = footprint().get("VmRSS", 0)
    return Check(
        "footprint",
        audio_b <= 64 * MiB,
        f"audio process {format_size(audio_b)} resident without a stream (goal ≤ 64 MiB, "
        f"JACK's segment not counted); doctor {format_size(own)}",
        "" if audio_b <= 64 * MiB else "a larger audio process (check its imports)",
    )


def check_display() -> Check:
    found = []
    if os.environ.get("DISPLAY"):
        found.append(f"X11 ({os.environ['DISPLAY']})")
    if os.environ.get("WAYLAND_DISPLAY"):
        found.append("Wayland")
    if found:
        return Check("display", True, ", ".join(found) + ": window and fullscreen")
    return Check(
        "display",
        False,
        "no X11 or Wayland display",
        "--display console on a bare TTY, xvfb-run, or --display none",
    )


def check_kmsdrm() -> Check:
    from oomphony.picture.display import dri_status

    usable, line = dri_status()
    return Check("console (KMSDRM)", usable, line, "" if usable else "window or --display none")


def check_sdl() -> Check:
    try:
        out = subprocess.run(
            [sys.executable, "-c", "import pygame; print(pygame.version.ver, pygame.version.SDL)"],
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"},
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return Check("pygame-ce", False, str(err), "--display none")
    if out.returncode != 0:
        return Check("pygame-ce", False, out.stderr.strip().splitlines()[-1:], "--display none")
    ver, sdl = out.stdout.split(maxsplit=1)
    return Check("pygame-ce", True, f"pygame-ce {ver}, SDL {sdl.strip()}")


def check_osc() -> Check:
    """python-osc, the optional extra behind --osc-out and --osc-in (docs/osc.md)."""
    import importlib.metadata

    from oomphony.show.osc import INSTALL_HINT, python_osc_missing

    if python_osc_missing():
        return Check(
            "OSC",
            False,
            "python-osc is not installed: no --osc-out, no --osc-in",
            f"the show runs without OSC ({INSTALL_HINT})",
        )
    version = importlib.metadata.version("python-osc")
    return Check("OSC", True, f"python-osc {version}: --osc-out and --osc-in (docs/osc.md)")


CHECKS = (
    check_kernel,
    check_cage,
    check_swap,
    check_psi,
    check_kmsg,
    check_audio,
    check_mlock,
    check_global,
    check_footprint,
    check_sdl,
    check_display,
    check_kmsdrm,
    check_osc,
)


def run_checks() -> list[Check]:
    results = []
    for probe in CHECKS:
        try:
            results.append(probe())
        except Exception as err:  # a probe that breaks is itself a finding, not a crash
            results.append(Check(probe.__name__.removeprefix("check_"), False, repr(err)))
    return results


def doctor(out: TextIO) -> int:
    checks = run_checks()
    width = max(len(c.name) for c in checks)
    out.write("oomphony doctor — what this machine offers the show\n\n")
    for c in checks:
        mark = "ok " if c.ok else "-- "
        out.write(f"{mark} {c.name:<{width}}  {c.detail}\n")
        if c.fallback:
            out.write(f"    {'':<{width}}  → {c.fallback}\n")
    cage_ok = next(c.ok for c in checks if c.name == "cage")
    out.write(
        "\nThe show: "
        + ("live backend in a cage." if cage_ok else "sim backend (no cage can be made here).")
        + "\n"
    )
    return 0
