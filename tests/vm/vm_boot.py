"""Boot the test image headless under qemu and run named scenarios inside it.

One boot runs several scenarios in turn (booting under software emulation costs ~20 s).
The runner prepares a shared folder (9p, tag `io`): the guest's `init.sh` and `lib.sh`,
the scenario scripts, a fresh copy of the working copy's `src/` (byte-compiled here for
the guest's Python 3.11 where the host's Python is 3.11 too) and the job list. The guest
writes each scenario's exit code, stdout, stderr and files (traces, screenshots) to
`out/<name>/` in that folder, then powers itself off.

qemu runs with a hard time limit and dies with the runner (PR_SET_PDEATHSIG, and a kill
in `finally`); the root disk is a throw-away qcow2 overlay over the cached image.
KVM is used where it boots; on machines where a KVM guest hangs, software emulation
(TCG) is used instead — the probe's answer is cached next to the image.

    python tests/vm/vm_boot.py OUTDIR scenario[:timeout_s] ...
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vm_image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BOOT_S = 120.0  # boot allowance under TCG on a loaded 2-core machine (measured ~21 s idle)
PROBE_S = 20.0
GUEST_MEMORY_MIB = 1024


@dataclass(frozen=True)
class Result:
    """One scenario's outcome, read back from the shared folder."""

    name: str
    rc: int | None  # None: the scenario never finished (time limit, crash)
    stdout: str
    stderr: str
    dir: Path

    def text(self, name: str) -> str:
        p = self.dir / name
        return p.read_text(errors="replace") if p.exists() else ""


@dataclass(frozen=True)
class Boot:
    results: dict[str, Result]
    console: str
    seconds: float
    accel: str


def _pdeathsig() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# Under TCG the guest gets a CPU without AVX: with `-cpu max` (qemu 7.2's new AVX2
# emulation) numpy's vector code crashed the console show twice in four runs, always in
# the same elementwise call. Nehalem has what numpy 2's baseline needs (x86-64-v2).
TCG_CPU = "Nehalem"
# Under TCG, with the TSC as clocksource and a tickless kernel, the guest's clock fell
# ~100 s behind the host's over a few idle minutes (the --global scenario, kernel
# timestamps against the host's clock); with HPET and a periodic tick it kept time.
TCG_CLOCK = " clocksource=hpet nohz=off"


def _qemu_base(image: Path, accel: str) -> list[str]:
    return ["qemu-system-x86_64", "-accel", accel, "-cpu", TCG_CPU if accel == "tcg" else "host",
            "-m", str(GUEST_MEMORY_MIB), "-smp", "2", "-nodefaults", "-no-user-config",
            "-no-reboot", "-display", "none", "-kernel", str(image / "vmlinuz"),
            "-initrd", str(image / "initrd.img")]  # fmt: skip


def _kvm_boots(image: Path) -> bool:
    """Does a KVM guest reach its kernel's root-mount panic? (On some hosts it hangs.)"""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    argv = [*_qemu_base(image, "kvm"), "-serial", "stdio",
            "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent rootwait=0"]  # fmt: skip
    argv.remove("-initrd")
    argv.remove(str(image / "initrd.img"))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, preexec_fn=_pdeathsig)  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=PROBE_S)
        return b"Kernel panic" in out or b"VFS:" in out
    except subprocess.TimeoutExpired:
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def accel(image: Path) -> str:
    forced = os.environ.get("OOMPHONY_VM_ACCEL")
    if forced:
        return forced
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True)
    key = hashlib.sha256((platform.release() + qemu.stdout).encode()).hexdigest()[:12]
    memo = image.parent / f"accel-{key}"
    if not memo.exists():
        memo.write_text("kvm" if _kvm_boots(image) else "tcg")
    return memo.read_text().strip()


def _copy_src(dest: Path) -> None:
    src = Path(os.environ.get("OOMPHONY_VM_SRC", REPO / "src"))  # another tree, to compare
    shutil.copytree(src / "oomphony", dest / "oomphony",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    if sys.version_info[:2] == (3, 11):  # the guest's Python: import without compiling
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(dest)], check=False)


def prepare_io(io: Path, jobs: list[tuple[str, float]]) -> None:
    if io.exists():
        shutil.rmtree(io)
    (io / "out").mkdir(parents=True)
    for f in (HERE / "guest_io").iterdir():
        shutil.copy(f, io / f.name)
    shutil.copytree(HERE / "scenarios", io / "scenarios")
    _copy_src(io / "src")
    (io / "jobs").write_text("".join(f"{n} {int(t)}\n" for n, t in jobs))


class Monitor:
    """The qemu human monitor on a unix socket (screendumps on the guest's request)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def command(self, line: str, timeout_s: float = 20.0) -> str:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout_s)
            s.connect(str(self.path))
            s.sendall(line.encode() + b"\n")
            time.sleep(0.5)
            with contextlib.suppress(TimeoutError, OSError):
                return s.recv(65536).decode(errors="replace")
        return ""


def _serve_screendumps(io: Path, mon: Monitor, stop: threading.Event) -> None:
    """A scenario asks for a capture of the guest's screen by creating
    `out/<name>/screendump-<label>.request`; the PPM lands next to it."""
    while not stop.wait(0.2):
        for req in io.glob("out/*/screendump-*.request"):
            ppm = req.with_suffix(".ppm")
            with contextlib.suppress(OSError):
                mon.command(f"screendump {ppm}")
                req.rename(req.with_suffix(".done"))


def boot(jobs: list[tuple[str, float]], io: Path, *, display: bool = True) -> Boot:
    """Run `jobs` [(scenario, timeout_s)] in one boot; results per scenario."""
    image = vm_image.build(quiet=True)
    mode = accel(image)
    prepare_io(io, jobs)
    overlay = io.parent / f"{io.name}.overlay.qcow2"
    overlay.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                    "-b", str(image / "rootfs.img"), str(overlay)], check=True)  # fmt: skip
    console = io.parent / f"{io.name}.console.log"
    monitor = io.parent / f"{io.name}.monitor"
    monitor.unlink(missing_ok=True)
    argv = [*_qemu_base(image, mode),
            "-append", "root=/dev/vda rw console=ttyS0 quiet loglevel=4 panic=-1 "
                       "systemd.show_status=0 net.ifnames=0" + (TCG_CLOCK if mode == "tcg" else ""),
            "-drive", f"file={overlay},if=virtio,format=qcow2,cache=unsafe",
            "-virtfs", f"local,path={io},mount_tag=io,security_model=none,id=io",
            "-serial", f"file:{console}",
            "-monitor", f"unix:{monitor},server=on,wait=off"]  # fmt: skip
    if display:
        argv += ["-vga", "std"]
    limit = BOOT_S + sum(t + 15 for _, t in jobs)
    t0 = time.monotonic()
    stop = threading.Event()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=_pdeathsig)  # fmt: skip
    server = threading.Thread(
        target=_serve_screendumps, args=(io, Monitor(monitor), stop), daemon=True
    )
    server.start()
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        pass
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        server.join(timeout=5)
        overlay.unlink(missing_ok=True)
        monitor.unlink(missing_ok=True)
    seconds = time.monotonic() - t0
    results = {}
    for name, _ in jobs:
        d = io / "out" / name
        rc_text = (d / "rc").read_text().strip() if (d / "rc").exists() else ""
        results[name] = Result(
            name,
            int(rc_text) if rc_text.lstrip("-").isdigit() else None,
            (d / "stdout").read_text(errors="replace") if (d / "stdout").exists() else "",
            (d / "stderr").read_text(errors="replace") if (d / "stderr").exists() else "",
            d,
        )
    text = console.read_text(errors="replace") if console.exists() else ""
    return Boot(results, text, seconds, mode)


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve()
    jobs = []
    for spec in argv[1:]:
        name, _, t = spec.partition(":")
        jobs.append((name, float(t or 300)))
    b = boot(jobs, out / "io")
    print(f"boot: {b.seconds:.0f} s ({b.accel})")
    for r in b.results.values():
        print(f"--- {r.name}: rc={r.rc}\n{r.stdout}\n{r.stderr}")
    return 0 if all(r.rc == 0 for r in b.results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
