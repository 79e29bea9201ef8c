"""The machine-wide show (`--global`) protects itself before it lets the allocator loose.

In a machine-wide OOM the kernel reclaims every page it can, the show's own code pages
included, and may pick any process as its victim. So, before the first show starts:

- the show process touches what it will need (the picture and kill-screen modules are
  imported, a collection is run and the survivors frozen, so the frame loop's garbage
  collector has little to walk), then locks its memory and sets its `oom_score_adj` to
  −1000 (cage/protect.py);
- the audio process does the same on its side (sound/process.py, `shield`);
- the allocator keeps `oom_score_adj` 1000 (allocator/child.py): the kernel's choice.

Where the show cannot do this (no CAP_SYS_RESOURCE, no CAP_IPC_LOCK and a finite lock
limit), `--global` is refused unless the user insists with `--unprotected`.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
from typing import Any

from oomphony.cage.protect import (
    Protection,
    can_protect,
    footprint,
    lock_memory,
    lower_oom_score,
)
from oomphony.errors import UsageError

log = logging.getLogger(__name__)

# Loaded before the lock, so the kill screen is not read from a thrashing disk.
WARM_MODULES = (
    "oomphony.picture.killscreen",
    "oomphony.picture.stage",
    "oomphony.picture.hud",
    "oomphony.trace.format",
    "oomphony.sources.kernlog",
)


def refusal_reasons() -> list[str]:
    """Why the show could not protect itself here (empty: it can)."""
    return can_protect()


def check_global(global_: bool, unprotected: bool, backend: str) -> str | None:
    """For `plan_show`: raise UsageError where a live --global show could not protect
    itself and the user did not insist; a notice (or None) where they did."""
    if not global_ or backend not in ("auto", "live"):
        return None
    reasons = refusal_reasons()
    if not reasons:
        return None
    why = "; ".join(reasons)
    if not unprotected:
        raise UsageError(
            f"--global: the show cannot protect itself here ({why}), so the machine-wide "
            "OOM could kill or freeze it; run it as root (with those capabilities), or add "
            "--unprotected to run it anyway"
        )
    return f"--global --unprotected: the show runs unprotected ({why})"


OOMD_NOTICE = (
    "systemd-oomd runs here: under pressure it kills whole cgroups, the show's own with "
    "it, before the kernel's OOM killer acts (measured in the test VM); stop it for a "
    "--global show (systemctl stop systemd-oomd)"
)


def oomd_notice() -> str | None:
    """A --global show beside systemd-oomd: one line, or None."""
    from oomphony.sources.killwatch import oomd_running

    return OOMD_NOTICE if oomd_running() else None


def service_notice(cgroup_file: str = "/proc/self/cgroup") -> str | None:
    """A --global show inside a systemd service with OOMPolicy=stop (the default): the
    kernel's kill of the allocator makes systemd stop the whole unit, the show with it
    (measured in the test VM: the guest's job service, every process gone at the kill)."""
    import shutil
    import subprocess

    try:
        with open(cgroup_file) as f:
            unit = f.read().strip().rsplit("/", 1)[-1]
    except OSError:
        return None
    systemctl = shutil.which("systemctl")
    if not unit.endswith(".service") or systemctl is None:
        return None
    try:
        out = subprocess.run(
            [systemctl, "show", "-p", "OOMPolicy", "--value", unit],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.stdout.strip() != "stop":
        return None
    return (
        f"this show runs in {unit} with OOMPolicy=stop: at the kernel's kill of the "
        "allocator, systemd stops the whole unit, the show with it; set OOMPolicy=continue "
        "(or start the show with systemd-run --scope -p OOMPolicy=continue)"
    )


def lean_display(display: str, environ: dict[str, str] | os._Environ = os.environ) -> None:
    """A --global window presents its frames without an OpenGL renderer (unless the user
    chose one): SDL's accelerated window surface loads the GL driver, 110 MiB resident
    more at 1920×1080 on Xvfb (Mesa's llvmpipe, libLLVM: 182 → 72 MiB, measured by
    perf/bench_footprint.py), memory the show would lock. The bare console keeps its
    OpenGL ES renderer (picture/display.py): KMSDRM needs it."""
    if display in ("window", "fullscreen", "kiosk"):
        environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")


def shield_show(audio: Any | None) -> dict[str, Any]:
    """Protect the show process now; what protects the show, the audio process and the
    allocator, as the trace's `protections` (docs/trace-format.md)."""
    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as err:  # no pygame: a headless record needs none of it
            log.info("not preloaded: %s (%s)", name, err)
    gc.collect()
    gc.freeze()  # what exists now is never walked again by the collector
    show = Protection(lock_memory(), lower_oom_score())
    out: dict[str, Any] = {"show": _describe(show, os.getpid())}
    if audio is not None and getattr(audio, "pid", None) is not None:
        out["audio"] = {
            "pid": audio.pid,
            "mlock": audio.mlock,
            "oom_score_adj": audio.oom_score_adj,
            **_sizes(audio.pid),
        }
    out["allocator"] = {"oom_score_adj": 1000}
    return out


def _sizes(pid: int) -> dict[str, int | None]:
    fp = footprint(pid)
    rss = fp.get("VmRSS")
    return {"rss_b": None if rss is None else rss - fp.get("RssShmem", 0)}


def _describe(p: Protection, pid: int) -> dict[str, Any]:
    return {"pid": pid, "mlock": p.mlock, "oom_score_adj": p.oom_score_adj, **_sizes(pid)}


def protections_line(protections: dict[str, Any] | None) -> str:
    """A few words for the HUD and the report: what is in force."""
    if not protections:
        return "none (caged show)"
    parts = []
    for who in ("show", "audio"):
        p = protections.get(who)
        if p is None:
            continue
        locked = "locked" if str(p.get("mlock", "")).startswith("locked") else "not locked"
        parts.append(f"{who} {locked}, adj {p.get('oom_score_adj')}")
    alloc = protections.get("allocator", {}).get("oom_score_adj")
    parts.append(f"allocator adj {alloc}")
    return " · ".join(parts)
