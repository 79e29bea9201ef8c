"""Telemetry of the cage: cgroup v1 and v2 fixture trees, and a real v1 memory cgroup
(as root) holding a process that touched 20 MiB — and one the kernel OOM-kills."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomphony.frame import AllocState, CageMem
from oomphony.telemetry import CageReader, Sampler, cage_from_v1, cage_from_v2
from oomphony.telemetry.cgroup import V1_UNLIMITED_B
from oomphony.telemetry.cgroupfs import CgroupRef, find_memory_controller

MiB = 2**20
V1_NO_LIMIT = "9223372036854771712\n"  # PAGE_COUNTER_MAX pages of 4 KiB, as the kernel shows it

V1_STAT = textwrap.dedent("""\
    cache 1000
    rss 2000
    swap 3000
    hierarchical_memory_limit 268435456
    total_cache 150994944
    total_rss 94371840
    total_rss_huge 0
    total_swap 12582912
    total_swapcached 4096
    """)
V1_OOM = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
V2_STAT = textwrap.dedent("""\
    anon 94371840
    file 150994944
    kernel 1234
    file_mapped 4096
    anon_thp 0
    inactive_file 100000000
    """)
V2_EVENTS = "low 0\nhigh 0\nmax 17\noom 3\noom_kill 2\noom_group_kill 0\n"
V2_PRESSURE = textwrap.dedent("""\
    some avg10=0.00 avg60=0.00 avg300=0.00 total=1000
    full avg10=0.00 avg60=0.00 avg300=0.00 total=500
    """)


def stat_value(text: str, key: str) -> int:
    return next(int(v) for k, v in (line.split() for line in text.splitlines()) if k == key)


def v1_files(**over: str | None) -> dict[str, str | None]:
    files: dict[str, str | None] = {
        "memory.usage_in_bytes": "260046848\n",
        "memory.limit_in_bytes": f"{256 * MiB}\n",
        "memory.memsw.usage_in_bytes": f"{260046848 + 12582912}\n",
        "memory.memsw.limit_in_bytes": f"{384 * MiB}\n",
        "memory.stat": V1_STAT,
        "memory.oom_control": V1_OOM,
    }
    files.update({k.replace("__", "."): v for k, v in over.items()})
    return files


def v2_files(**over: str | None) -> dict[str, str | None]:
    files: dict[str, str | None] = {
        "memory.current": "260046848\n",
        "memory.max": f"{256 * MiB}\n",
        "memory.swap.current": "12582912\n",
        "memory.swap.max": f"{128 * MiB}\n",
        "memory.stat": V2_STAT,
        "memory.events": V2_EVENTS,
        "memory.pressure": V2_PRESSURE,
    }
    files.update({k.replace("__", "."): v for k, v in over.items()})
    return files


def write_cage(root: Path, files: dict[str, str | None]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is not None:
            (root / name).write_text(text)
    return root


# --- pure builders ----------------------------------------------------------------------


def test_cage_from_v1_full() -> None:
    files = v1_files()
    cage = cage_from_v1(files)
    assert cage is not None
    assert cage.usage_b == int(files["memory.usage_in_bytes"] or "")
    assert cage.limit_b == 256 * MiB
    assert cage.swap_limit_b == (384 - 256) * MiB
    assert cage.cache_b == stat_value(V1_STAT, "total_cache")  # not the local `cache`
    assert cage.anon_b == stat_value(V1_STAT, "total_rss")
    assert cage.swap_b == stat_value(V1_STAT, "total_swap")
    assert cage.oom_kills == stat_value(V1_OOM, "oom_kill")


@pytest.mark.parametrize(
    ("over", "field", "expected"),
    [
        ({"memory__limit_in_bytes": V1_NO_LIMIT}, "limit_b", None),
        ({"memory__limit_in_bytes": V1_NO_LIMIT}, "swap_limit_b", 384 * MiB),
        ({"memory__memsw__limit_in_bytes": V1_NO_LIMIT}, "swap_limit_b", None),
        ({"memory__memsw__limit_in_bytes": f"{256 * MiB}\n"}, "swap_limit_b", 0),
        # No total_swap (older kernels): memsw − usage.
        ({"memory__stat": V1_STAT.replace("total_swap ", "x_total_swap ")}, "swap_b", 12582912),
        # No swap accounting at all: no memsw files, no total_swap.
        (
            {
                "memory__stat": V1_STAT.replace("total_swap ", "x "),
                "memory__memsw__usage_in_bytes": None,
                "memory__memsw__limit_in_bytes": None,
            },
            "swap_b",
            None,
        ),
        ({"memory__memsw__limit_in_bytes": None}, "swap_limit_b", None),
        ({"memory__oom_control": "oom_kill_disable 0\nunder_oom 0\n"}, "oom_kills", None),
        ({"memory__stat": None}, "cache_b", None),
    ],
)
def test_cage_from_v1_table(over: dict[str, str | None], field: str, expected: int | None) -> None:
    cage = cage_from_v1(v1_files(**over))
    assert cage is not None and getattr(cage, field) == expected


def test_cage_from_v2_full() -> None:
    cage = cage_from_v2(v2_files())
    assert cage is not None
    assert (cage.limit_b, cage.swap_limit_b) == (256 * MiB, 128 * MiB)
    assert cage.usage_b == 260046848
    assert cage.cache_b == stat_value(V2_STAT, "file")  # not file_mapped
    assert cage.anon_b == stat_value(V2_STAT, "anon")  # not anon_thp
    assert cage.swap_b == 12582912
    assert cage.oom_kills == stat_value(V2_EVENTS, "oom_kill")  # not oom, not oom_group_kill


@pytest.mark.parametrize(
    ("over", "field", "expected"),
    [
        ({"memory__max": "max\n"}, "limit_b", None),
        ({"memory__swap__max": "max\n"}, "swap_limit_b", None),
        ({"memory__swap__max": "0\n"}, "swap_limit_b", 0),
        ({"memory__swap__current": None}, "swap_b", None),  # kernel without swap controller
        ({"memory__events": None}, "oom_kills", None),
    ],
)
def test_cage_from_v2_table(over: dict[str, str | None], field: str, expected: int | None) -> None:
    cage = cage_from_v2(v2_files(**over))
    assert cage is not None and getattr(cage, field) == expected


@pytest.mark.parametrize(
    ("build", "files"),
    [
        (cage_from_v1, v1_files(memory__usage_in_bytes=None)),
        (cage_from_v2, v2_files(memory__current="")),
    ],
)
def test_cage_without_usage_is_none(
    build: Callable[[dict[str, str | None]], CageMem | None], files: dict[str, str | None]
) -> None:
    assert build(files) is None


@given(st.integers(0, 2**63 - 1))
def test_v1_limit_property(limit_b: int) -> None:
    cage = cage_from_v1(v1_files(memory__limit_in_bytes=f"{limit_b}\n"))
    assert cage is not None
    assert cage.limit_b == (None if limit_b >= V1_UNLIMITED_B else limit_b)


@given(st.integers(0, 2**62), st.booleans())
def test_v2_limit_property(limit_b: int, unlimited: bool) -> None:
    cage = cage_from_v2(v2_files(memory__max="max\n" if unlimited else f"{limit_b}\n"))
    assert cage is not None and cage.limit_b == (None if unlimited else limit_b)


# --- the reader over fixture trees ----------------------------------------------------------


def test_cage_reader_v2_tree(tmp_path: Path) -> None:
    files = v2_files(memory__max="max\n")
    reader = CageReader(CgroupRef(2, write_cage(tmp_path / "cage", files)))
    assert reader.fallbacks == [] and reader.has_pressure
    assert reader.read() == cage_from_v2(files)
    pressure = reader.pressure()
    assert pressure is not None and pressure.some_us == 1000 and pressure.full_us == 500
    reader.close()


def test_cage_reader_v1_without_swap_accounting(tmp_path: Path) -> None:
    files = v1_files(memory__memsw__usage_in_bytes=None, memory__memsw__limit_in_bytes=None)
    reader = CageReader(CgroupRef(1, write_cage(tmp_path / "cage", files)))
    cage = reader.read()
    assert cage is not None and cage.swap_limit_b is None
    assert cage.swap_b == stat_value(V1_STAT, "total_swap")
    assert len(reader.fallbacks) == 2 and "swapaccount=1" in reader.fallbacks[0]
    assert reader.pressure() is None and not reader.has_pressure
    reader.close()


def test_sampler_takes_psi_from_a_v2_cage(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "pressure").mkdir(parents=True)
    (proc / "meminfo").write_text("MemTotal: 1000 kB\nMemFree: 500 kB\n")
    (proc / "vmstat").write_text("pswpin 0\npswpout 0\n")
    (proc / "pressure" / "memory").write_text(V2_PRESSURE.replace("total=", "total=9"))
    cage_dir = write_cage(tmp_path / "cage", v2_files())
    s = Sampler(proc_root=proc, cgroup=CgroupRef(2, cage_dir))
    assert s.psi_source == "cage"
    none = AllocState(None, False, 0, None, None, 0.0)
    s.sample(1.0, none)
    (cage_dir / "memory.pressure").write_text(V2_PRESSURE.replace("total=1000", "total=501000"))
    frame = s.sample(2.0, none)
    assert frame.psi.some == pytest.approx(0.5) and frame.psi.full == 0.0
    assert frame.cage == cage_from_v2(v2_files())
    assert frame.limit_b == 256 * MiB  # the frame's derived arena is the cage's
    s.close()


def test_cage_reader_v2_without_pressure_says_so(tmp_path: Path) -> None:
    reader = CageReader(CgroupRef(2, write_cage(tmp_path / "c", v2_files(memory__pressure=None))))
    assert not reader.has_pressure and "memory.pressure" in reader.fallbacks[0]
    reader.close()


# --- a real v1 cgroup ------------------------------------------------------------------------

CHILD = textwrap.dedent("""\
    import os, sys
    with open(sys.argv[1] + "/cgroup.procs", "w") as f:  # into the cage before touching
        f.write(str(os.getpid()))
    block = os.urandom(1 << 20)
    mem = bytearray(int(sys.argv[2]) << 20)
    for i in range(0, len(mem), 1 << 20):
        mem[i : i + (1 << 20)] = block  # written, incompressible, resident
    print("ready", flush=True)
    sys.stdin.read()
    """)


def _v1_root() -> Path:
    root = find_memory_controller().v1_root
    if root is None:
        pytest.skip("needs the cgroup v1 memory controller")
    return root


@contextlib.contextmanager
def v1_cage(limit_b: int, memsw_b: int | None) -> Iterator[Path]:
    path = _v1_root() / f"oomphony-test-{os.getpid()}"
    path.mkdir()
    try:
        (path / "memory.limit_in_bytes").write_text(str(limit_b))
        if memsw_b is not None:
            if not (path / "memory.memsw.limit_in_bytes").exists():
                pytest.skip("needs cgroup v1 swap accounting (memory.memsw.*)")
            (path / "memory.memsw.limit_in_bytes").write_text(str(memsw_b))
        yield path
    finally:
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        for _ in range(100):
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.01)


@contextlib.contextmanager
def toucher(cage: Path, mib: int) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cage), str(mib)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.cgroup
def test_real_v1_cage_then_removed() -> None:
    with v1_cage(64 * MiB, 96 * MiB) as path:
        with toucher(path, 20) as proc:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            s = Sampler(cgroup=CgroupRef(1, path))
            s.set_pids(proc.pid)
            frame = s.sample(0.0, AllocState(proc.pid, True, 20 * MiB, None, None, 0.0))
            usage_now = int((path / "memory.usage_in_bytes").read_text())
        cage = frame.cage
        assert cage is not None and s.fallbacks == []
        assert cage.limit_b == 64 * MiB and cage.swap_limit_b == 32 * MiB
        assert 20 * MiB <= cage.usage_b <= 64 * MiB
        assert abs(cage.usage_b - usage_now) < 4 * MiB
        assert cage.anon_b is not None and cage.anon_b >= 20 * MiB
        assert cage.swap_b is not None and cage.oom_kills == 0
        assert frame.alloc.rss_b is not None and frame.alloc.rss_b >= 20 * MiB
        assert frame.limit_b == 64 * MiB
    # The cage is gone (process killed, directory removed): None and a reason, no crash.
    assert not path.exists()
    assert s.read_cage() is None
    after = s.sample(1.0, AllocState(proc.pid, False, 0, None, None, 0.0))
    assert after.cage is None and after.alloc.rss_b is None
    assert any("cage unreadable" in line for line in s.fallbacks)
    s.close()


@pytest.mark.cgroup
def test_real_v1_oom_kill_is_counted() -> None:
    with v1_cage(48 * MiB, 48 * MiB) as path:
        reader = CageReader(CgroupRef(1, path))
        before = reader.read()
        assert before is not None and before.oom_kills == 0
        with toucher(path, 96) as proc:
            assert proc.wait(timeout=30) == -signal.SIGKILL
        after = reader.read()
        reader.close()
    assert after is not None and after.oom_kills == 1
