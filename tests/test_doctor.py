"""`oomphony doctor` against what this machine really has.

Each line of the report is checked against an independent look at the machine: swap in
/proc/meminfo, the cgroup mounts in /proc/mounts, PSI, /dev/kmsg, PortAudio and a real
(JACK dummy) output device, the display, DRM devices, mlock, the installed pygame-ce.
Whatever this machine has or lacks, the report must say so.
"""

from __future__ import annotations

import ctypes.util
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oomphony.support import jackdummy
from oomphony.units import format_size


@dataclass(frozen=True)
class Line:
    ok: bool
    detail: str
    fallback: str


def doctor(env_update: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_update or {})
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "doctor"],
        capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    report: dict[str, Line] = {}
    last = None
    for text in out.stdout.splitlines():
        m = re.match(r"^(ok |-- ) (\S.*?)\s{2,}(.*)$", text)
        if m:
            last = m.group(2)
            report[last] = Line(m.group(1) == "ok ", m.group(3), "")
        elif text.strip().startswith("→") and last is not None:
            report[last] = Line(report[last].ok, report[last].detail, text.strip()[1:].strip())
    report["_show"] = out.stdout.strip().splitlines()[-1]
    return report


NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "JACK_DEFAULT_SERVER")


@pytest.fixture(scope="module")
def report() -> dict:
    """The report on this machine as it is, with no display and no JACK server named."""
    return doctor(drop=NO_DISPLAY)


def meminfo() -> dict[str, int]:
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0]) * (1024 if rest.strip().endswith("kB") else 1)
    return out


def cgroup_mounts() -> tuple[list[str], list[str]]:
    """(v1 memory controller mount points, cgroup2 mount points) from /proc/mounts."""
    v1, v2 = [], []
    for line in Path("/proc/mounts").read_text().splitlines():
        _dev, where, fstype, opts, *_ = line.split()
        if fstype == "cgroup" and "memory" in opts.split(","):
            v1.append(where)
        elif fstype == "cgroup2":
            v2.append(where)
    return v1, v2


def test_every_line_is_there(report: dict) -> None:
    for name in ("kernel", "cage", "swap", "pressure (PSI)", "kernel log", "audio",
                 "mlockall", "pygame-ce", "display", "console (KMSDRM)", "OSC"):  # fmt: skip
        assert name in report, name
        line = report[name]
        assert line.ok or line.fallback, f"{name}: missing, but no fallback named"


def test_kernel(report: dict) -> None:
    u = os.uname()
    assert report["kernel"].detail == f"Linux {u.release} ({u.machine})"


def test_swap_as_the_kernel_counts_it(report: dict) -> None:
    total = meminfo()["SwapTotal"]
    areas = len(Path("/proc/swaps").read_text().strip().splitlines()) - 1
    line = report["swap"]
    assert line.ok == (total > 0)
    if total:
        assert line.detail.startswith(f"{areas} area(s), {format_size(total)}, ")
    else:
        assert "swap act is skipped" in line.fallback


def test_cgroup_controllers_as_mounted(report: dict) -> None:
    v1, v2 = cgroup_mounts()
    detail = report["cage"].detail
    for where in v1:
        assert f"v1 at {where}" in detail
    for where in v2:
        ctl = Path(where, "cgroup.controllers")
        has_memory = ctl.exists() and "memory" in ctl.read_text().split()
        assert f"v2 at {where}" + ("" if has_memory else " (no memory)") in detail
    if not v1 and not v2:
        assert "no cgroup memory controller" in detail


def test_cage_as_this_machine_allows(report: dict) -> None:
    v1, _v2 = cgroup_mounts()
    line = report["cage"]
    if os.geteuid() == 0 and v1:
        assert line.ok and "as root: cgroup v1 (root)" in line.detail
    if not line.ok:
        assert "--backend sim" in line.fallback
    show = "live backend in a cage" if line.ok else "sim backend"
    assert show in report["_show"]
    # the probe's cage is gone again
    leftovers = [p for root in v1 for p in Path(root).glob("**/oomphony-*") if p.is_dir()]
    assert not [p for p in leftovers if not _owner_alive(p)], leftovers


def _owner_alive(cage: Path) -> bool:
    """Cages of other shows running now (named oomphony-<show pid>-<n>) are theirs."""
    m = re.match(r"oomphony-(\d+)-\d+$", cage.name)
    return bool(m) and Path(f"/proc/{m.group(1)}").exists()


def test_psi_as_the_kernel_has_it(report: dict) -> None:
    try:
        Path("/proc/pressure/memory").read_text()
        readable = True
    except OSError:
        readable = False
    assert report["pressure (PSI)"].ok == readable


def test_kernel_log_as_readable(report: dict) -> None:
    try:
        os.close(os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK))
        kmsg = True
    except OSError:
        kmsg = False
    line = report["kernel log"]
    assert line.ok == (kmsg or shutil.which("journalctl") is not None)
    assert ("/dev/kmsg readable" in line.detail) == kmsg


def _alsa_cards() -> int:
    try:
        text = Path("/proc/asound/cards").read_text()
    except OSError:
        return 0
    return len(re.findall(r"^\s*\d+ \[", text, re.M))


def test_audio_without_a_device(report: dict) -> None:
    line = report["audio"]
    if ctypes.util.find_library("portaudio") is None:
        assert not line.ok and line.detail == "no PortAudio library"
        assert "libportaudio2" in line.fallback
        return
    assert "no PortAudio library" not in line.detail
    if _alsa_cards() == 0 and not os.environ.get("PULSE_SERVER"):
        # no sound card, no JACK server: nothing to play on
        assert not line.ok and "silent show" in line.fallback


@pytest.fixture
def jack_dummy() -> Iterator[str]:
    name = f"oomphony-doctor-{os.getpid()}"
    proc = jackdummy.start(name)
    try:
        yield name
    finally:
        jackdummy.stop(proc, name)


@pytest.mark.audio
def test_audio_sees_a_real_output_device(jack_dummy: str) -> None:
    line = doctor({"JACK_DEFAULT_SERVER": jack_dummy, "JACK_NO_START_SERVER": "1"})["audio"]
    assert line.ok, line
    assert re.match(r"\d+ output device\(s\): ", line.detail)
    assert "system" in line.detail


def test_no_display_is_reported(report: dict) -> None:
    line = report["display"]
    assert not line.ok and line.detail == "no X11 or Wayland display"
    assert "--display none" in line.fallback


@pytest.mark.display
def test_a_real_display_is_reported(xvfb_display: str) -> None:
    line = doctor({"DISPLAY": xvfb_display}, drop=("WAYLAND_DISPLAY",))["display"]
    assert line.ok and xvfb_display in line.detail


def test_console_needs_a_drm_device(report: dict) -> None:
    cards = list(Path("/dev/dri").glob("card*")) if Path("/dev/dri").is_dir() else []
    if not cards:
        assert not report["console (KMSDRM)"].ok


def test_mlock_as_privileged(report: dict) -> None:
    line = report["mlockall"]
    assert line.detail.startswith("locked" if line.ok else "refused")
    if os.geteuid() == 0:  # CAP_IPC_LOCK: no limit applies
        assert line.ok


def test_pygame_ce_as_installed(report: dict) -> None:
    line = report["pygame-ce"]
    assert line.ok
    assert line.detail.startswith(f"pygame-ce {importlib.metadata.version('pygame-ce')}, SDL ")


def test_osc_as_installed(report: dict) -> None:
    line = report["OSC"]
    try:
        version = importlib.metadata.version("python-osc")
    except importlib.metadata.PackageNotFoundError:
        assert not line.ok and "pip install 'oomphony[osc]'" in line.fallback
    else:
        assert line.ok and line.detail.startswith(f"python-osc {version}: ")


def test_osc_without_python_osc_names_the_extra(tmp_path: Path) -> None:
    """python-osc hidden from the interpreter (a None in sys.modules: "not importable")."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['pythonosc'] = None\n")
    env = {"PYTHONPATH": str(tmp_path)}
    line = doctor(env)["OSC"]
    assert not line.ok and "pip install 'oomphony[osc]'" in line.fallback
