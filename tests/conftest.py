"""Capability markers: a test that needs what this machine lacks skips with a reason.

CI provides every capability (root, the v1 memory controller, swap, jackd, Xvfb), so
there these tests run.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from oomphony.telemetry.cgroupfs import find_memory_controller


def _swap_active() -> bool:
    try:
        return len(Path("/proc/swaps").read_text().strip().splitlines()) > 1
    except OSError:
        return False


def _cgroup_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to make a memory cgroup (cage)"
    mc = find_memory_controller()
    if mc.v1_root is None and not mc.v2_has_memory:
        return "no cgroup memory controller on this machine"
    return None


def _audio_reason() -> str | None:
    if shutil.which("jackd") is None:
        return "needs jackd (Debian jackd2) for a real-time-paced dummy audio device"
    if ctypes.util.find_library("portaudio") is None:
        return "needs PortAudio (Debian libportaudio2)"
    return None


def _display_reason() -> str | None:
    if shutil.which("Xvfb") is None:
        return "needs Xvfb (Debian xvfb) for a real window"
    return None


def _vm_reason() -> str | None:
    for tool, pkg in (("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"),
                      ("debootstrap", "debootstrap"), ("mkfs.ext4", "e2fsprogs")):  # fmt: skip
        if shutil.which(tool) is None:
            return f"needs {tool} (Debian {pkg}) to build and boot the test VM"
    if os.geteuid() != 0:
        return "needs root to build the test VM image (debootstrap, chroot)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = {
        "cgroup": _cgroup_reason(),
        "swap": None if _swap_active() else "needs active swap (.ci/run enables a swap file)",
        "audio": _audio_reason(),
        "display": _display_reason(),
        "vm": _vm_reason(),
    }
    for item in items:
        for name, reason in reasons.items():
            if reason and item.get_closest_marker(name):
                item.add_marker(pytest.mark.skip(reason=reason))


XVFB_SIZE = (1280, 720)


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A private X server (Xvfb) on a free display number, stopped afterwards."""
    n = next(
        n
        for n in range(91, 160)
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists()
    )
    w, h = XVFB_SIZE
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            assert proc.poll() is None, "Xvfb did not start"
            assert time.monotonic() < deadline, "Xvfb did not come up"
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
