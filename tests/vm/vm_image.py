"""Build (or find in the cache) the Debian 12 test image for the `vm` tests.

The image holds Debian's own packages (debootstrap) — the generic kernel and its
initramfs, systemd with a lingering user session for `show` (uid 1000), python3, jackd2,
PortAudio, the Mesa/DRM libraries SDL's KMSDRM driver needs, systemd-oomd — and a venv
with the project's dependencies as binary wheels for the guest's Python 3.11, at the
versions installed on the host. The project itself is not baked in: the runner shares
the working copy's `src/` with the guest at every boot, so editing the code never
rebuilds the image.

Everything is cached under `$OOMPHONY_VM_CACHE` (default /var/cache/oomphony-vm) in a
directory named by a hash of the inputs (package list, wheel pins, this file, the guest
files); a build happens only when one of them changes. Needs root, debootstrap and
network access to Debian's archive and PyPI — only on a cold cache.

    python tests/vm/vm_image.py            # prints the image directory
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
GUEST = HERE / "guest"
MIRROR = os.environ.get("OOMPHONY_VM_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
PACKAGES = [
    # boot and a systemd user session
    "linux-image-amd64", "initramfs-tools", "kmod", "udev", "systemd", "systemd-sysv",
    "systemd-oomd", "dbus", "dbus-user-session", "libpam-systemd", "procps", "util-linux",
    # the show
    "python3", "python3-venv", "jackd2", "libportaudio2", "fonts-dejavu-core",
    # SDL's KMSDRM video driver (pygame-ce's wheels bundle SDL, not Mesa)
    "libgbm1", "libdrm2", "libegl1", "libgles2", "libgl1-mesa-dri",
]  # fmt: skip
# The guest's venv: the project's runtime dependencies, pinned to the host's versions.
DISTRIBUTIONS = ["numpy", "pygame-ce", "sounddevice", "psutil", "scipy", "cffi", "pycparser"]
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64"]
IMAGE_SIZE = "2G"
USERS = [("show", 1000, "video,audio"), ("nosession", 1001, "")]


def cache_root() -> Path:
    return Path(os.environ.get("OOMPHONY_VM_CACHE", "/var/cache/oomphony-vm"))


def wheel_pins() -> list[str]:
    """`name==version` for each dependency, as installed where the tests run."""
    return [f"{d}=={metadata.version(d)}" for d in DISTRIBUTIONS]


def image_key() -> str:
    """The inputs: packages, wheel pins, the build steps' code, the guest files."""
    h = hashlib.sha256()
    h.update(json.dumps([SUITE, PACKAGES, wheel_pins(), PLATFORMS, USERS, IMAGE_SIZE]).encode())
    for step in (_populate, _download_wheels, _chroot):
        h.update(inspect.getsource(step).encode())
    for f in sorted(GUEST.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(GUEST).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def missing_tools() -> str | None:
    """Why an image cannot be built (or booted) here, or None."""
    for tool in ("debootstrap", "qemu-system-x86_64", "qemu-img", "mkfs.ext4"):
        if shutil.which(tool) is None:
            return f"needs {tool} (Debian qemu-system-x86, qemu-utils, debootstrap)"
    return None


def _run(argv: list[str], log: Path, **kw) -> None:
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        subprocess.run(argv, check=True, stdout=out, stderr=subprocess.STDOUT, **kw)


def _chroot(root: Path, argv: list[str], log: Path) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
           "LANG": "C.UTF-8", "HOME": "/root"}  # fmt: skip
    _run(["chroot", str(root), *argv], log, env=env)


def _download_wheels(dest: Path, log: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
            "--python-version", "3.11", "--implementation", "cp", "--dest", str(dest)]  # fmt: skip
    for p in PLATFORMS:
        argv += ["--platform", p]
    _run([*argv, *wheel_pins()], log)


def _populate(root: Path, work: Path, log: Path) -> None:
    """Debian packages, users, the boot unit, the venv: everything inside the image."""
    _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
          SUITE, str(root), MIRROR], log)  # fmt: skip
    # Users: `show` lingers (a systemd user session from boot), `nosession` does not.
    for name, uid, groups in USERS:
        argv = ["useradd", "-m", "-u", str(uid), "-s", "/bin/bash", name]
        _chroot(root, [*argv, *(["-G", groups] if groups else [])], log)
    linger = root / "var/lib/systemd/linger"
    linger.mkdir(parents=True, exist_ok=True)
    (linger / "show").touch()
    # Guest files: the job unit, the boot script, fstab, hostname.
    for f in GUEST.rglob("*"):
        if f.is_file():
            dst = root / f.relative_to(GUEST)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dst)
    _chroot(root, ["systemctl", "enable", "oomphony-vm.service"], log)
    # A login prompt on the serial line swallows later serial output.
    _chroot(root, ["systemctl", "mask", "serial-getty@ttyS0.service", "getty@tty1.service",
                   "systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer"],
            log)  # fmt: skip
    (root / "etc/hostname").write_text("oomphony-vm\n")
    (root / "etc/fstab").write_text("/dev/vda / ext4 rw,relatime 0 1\n")
    # The venv, built here in a chroot (minutes inside an emulated guest, seconds here).
    wheels = work / "wheels"
    _download_wheels(wheels, log)
    shutil.copytree(wheels, root / "tmp/wheels")
    venv = "/opt/oomphony/venv"
    _chroot(root, ["python3", "-m", "venv", venv], log)
    _chroot(root, [f"{venv}/bin/pip", "install", "-q", "--no-index", "--find-links",
                   "/tmp/wheels", *wheel_pins()], log)  # fmt: skip
    shutil.rmtree(root / "tmp/wheels")
    # The project comes from the runner's share (/io/src) at every boot.
    site = next((root / "opt/oomphony/venv/lib").glob("python3*/site-packages"))
    (site / "oomphony-src.pth").write_text("/io/src\n")
    launcher = root / "usr/local/bin/oomphony"
    launcher.write_text(f'#!/bin/sh\nexec {venv}/bin/python -m oomphony "$@"\n')
    launcher.chmod(0o755)
    shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def build(quiet: bool = False) -> Path:
    """The image directory (rootfs.img, vmlinuz, initrd.img), built if not cached."""
    base = cache_root()
    base.mkdir(parents=True, exist_ok=True)
    out = base / f"image-{image_key()}"
    with open(base / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (out / "done").exists():
            return out
        reason = missing_tools()
        if reason is not None:
            raise RuntimeError(reason)
        if os.geteuid() != 0:
            raise RuntimeError("building the VM image needs root (debootstrap, chroot)")
        work = base / f"build-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        work.mkdir()
        log = base / "build.log"
        log.write_text(f"build {out.name} started {time.ctime()}\n")
        t0 = time.monotonic()
        try:
            root = work / "rootfs"
            _populate(root, work, log)
            tmp = work / "image"
            tmp.mkdir()
            boot = root / "boot"
            shutil.copy(next(boot.glob("vmlinuz-*")), tmp / "vmlinuz")
            shutil.copy(next(boot.glob("initrd.img-*")), tmp / "initrd.img")
            _run(["mkfs.ext4", "-q", "-L", "oomphony", "-d", str(root),
                  str(tmp / "rootfs.img"), IMAGE_SIZE], log)  # fmt: skip
            (tmp / "done").write_text(f"{time.monotonic() - t0:.0f} s\n")
            tmp.rename(out)
        finally:
            with contextlib.suppress(OSError):
                _unmount_all(work)
            shutil.rmtree(work, ignore_errors=True)
        for old in base.glob("image-*"):  # one image is enough; keep the disk tidy
            if old != out:
                shutil.rmtree(old, ignore_errors=True)
        if not quiet:
            print(f"built {out} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        return out


def _unmount_all(work: Path) -> None:
    """debootstrap leaves /proc and /sys mounted in the chroot when it fails."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    for line in reversed(mounts):
        where = line.split()[1]
        if where.startswith(str(work) + "/"):
            subprocess.run(["umount", "-l", where], check=False)


if __name__ == "__main__":
    print(build())
