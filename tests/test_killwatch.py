"""Kill detection: the kernel's words, merging detectors, attribution, classify_exit."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomphony.cage.methods import V1Method
from oomphony.frame import OomKill
from oomphony.sources.kernlog import kmsg_message, parse_context_line, parse_kill_line
from oomphony.sources.killwatch import KillWatch, classify_exit
from oomphony.telemetry.cgroupfs import CgroupRef

MEMCG = (
    "Memory cgroup out of memory: Killed process 8273 (python) total-vm:398448kB, "
    "anon-rss:261296kB, file-rss:18160kB, shmem-rss:0kB, UID:0 pgtables:664kB oom_score_adj:1000"
)
GLOBAL = (
    "Out of memory: Killed process 991 (stress-ng-vm) total-vm:2048kB, anon-rss:1024kB, "
    "file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:44kB oom_score_adj:0"
)
OLD = (
    "Memory cgroup out of memory: Killed process 77 (my prog) total-vm:100kB, anon-rss:8kB, "
    "file-rss:4kB"
)


@pytest.mark.parametrize(
    ("line", "pid", "comm", "anon_rss_b", "memcg", "adj"),
    [
        (MEMCG, 8273, "python", 261296 * 1024, True, 1000),
        ("[  575.4] " + GLOBAL, 991, "stress-ng-vm", 1024 * 1024, False, 0),
        (OLD, 77, "my prog", 8 * 1024, True, None),
    ],
)
def test_parse_kill_line(line, pid, comm, anon_rss_b, memcg, adj) -> None:
    k = parse_kill_line(line)
    assert k is not None
    assert (k["pid"], k["comm"], k["anon_rss_b"], k["memcg"]) == (pid, comm, anon_rss_b, memcg)
    assert k["oom_score_adj"] == adj
    assert k["line"].endswith(line.split("] ")[-1][-20:])


@pytest.mark.parametrize(
    "line",
    ["", "oom-kill:constraint=CONSTRAINT_MEMCG,task=python,pid=1,uid=0",
     "python invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=1000",
     "Memory cgroup out of memory: Killed process x (y)"],
)  # fmt: skip
def test_other_lines_are_not_kills(line: str) -> None:
    assert parse_kill_line(line) is None


@given(
    pid=st.integers(1, 2**22),
    comm=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=15),
    anon_kb=st.integers(0, 2**40),
    memcg=st.booleans(),
)
def test_parse_kill_line_roundtrip(pid: int, comm: str, anon_kb: int, memcg: bool) -> None:
    head = "Memory cgroup out of memory" if memcg else "Out of memory"
    line = (
        f"{head}: Killed process {pid} ({comm}) total-vm:1kB, anon-rss:{anon_kb}kB, "
        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:1000"
    )
    k = parse_kill_line(line)
    assert k is not None
    assert (k["pid"], k["comm"], k["anon_rss_b"], k["memcg"]) == (pid, comm, anon_kb * 1024, memcg)


def test_context_and_kmsg_record() -> None:
    rec = (
        "6,2040,575427917,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,"
        "mems_allowed=0,oom_memcg=/a/oomphony-1-1,task_memcg=/a/oomphony-1-1,task=python,"
        "pid=7847,uid=0\n SUBSYSTEM=memory\n"
    )
    msg = kmsg_message(rec)
    assert msg.startswith("oom-kill:") and "\n" not in msg
    ctx = parse_context_line(msg)
    assert ctx is not None
    assert (ctx["pid"], ctx["task_memcg"], ctx["task"]) == ("7847", "/a/oomphony-1-1", "python")
    assert kmsg_message("plain line") == "plain line"


# --- KillWatch on fixture files ---------------------------------------------------------


class _FakeCage:
    def __init__(self, path: Path) -> None:
        self.ref = CgroupRef(1, path)
        self.method = V1Method(path.parent)


def _kmsg_line(text: str) -> bytes:
    return f"3,1,2,-;{text}\n".encode()


@pytest.fixture
def fifo(tmp_path: Path):
    path = tmp_path / "kmsg"
    os.mkfifo(path)
    yield path


def _set_counter(path: Path, n: int) -> None:
    path.write_text(f"oom_kill_disable 0\nunder_oom 0\noom_kill {n}\n")


def test_counter_and_kernel_line_make_one_event(tmp_path: Path, fifo: Path) -> None:
    cg = tmp_path / "oomphony-5-1"
    cg.mkdir()
    _set_counter(cg / "memory.oom_control", 0)
    kw = KillWatch(_FakeCage(cg), kmsg_path=str(fifo), grace_s=60.0)
    writer = os.open(fifo, os.O_WRONLY)
    try:
        assert kw.sources == ["cgroup-eventfd", "kmsg"]
        assert kw.poll(0.1) == []
        _set_counter(cg / "memory.oom_control", 1)
        assert kw.poll(0.2) == []  # waits (grace) for the kernel's line
        os.write(
            writer,
            _kmsg_line(
                f"oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/x/{cg.name},pid=42,uid=0"
            ),
        )
        os.write(writer, _kmsg_line(MEMCG.replace("8273", "42")))
        (ev,) = kw.poll(0.3)
        assert (ev.t_s, ev.pid, ev.comm, ev.source) == (0.2, 42, "python", "cgroup-eventfd")
        assert ev.kernel_line and "Killed process 42" in ev.kernel_line
        # a kill in someone else's cage is not ours
        os.write(
            writer,
            _kmsg_line(
                "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/x/oomphony-9-1,pid=43,uid=0"
            ),
        )
        os.write(writer, _kmsg_line(MEMCG.replace("8273", "43")))
        assert kw.poll(0.4) == []
        # the kernel line first, then the counter: still one event
        os.write(
            writer,
            _kmsg_line(
                f"oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/x/{cg.name},pid=44,uid=0"
            ),
        )
        os.write(writer, _kmsg_line(MEMCG.replace("8273", "44")))
        (ev,) = kw.poll(0.5)
        assert (ev.pid, ev.source) == (44, "kmsg")
        _set_counter(cg / "memory.oom_control", 2)
        assert kw.poll(0.6) == []
    finally:
        os.close(writer)
        kw.close()


def test_counter_only_after_grace_and_no_kernel_log(tmp_path: Path) -> None:
    vmstat = tmp_path / "vmstat"
    vmstat.write_text("pgfault 5\noom_kill 3\n")
    kw = KillWatch(None, kmsg_path=str(tmp_path / "nope"), use_journal=False,
                   vmstat_path=str(vmstat))  # fmt: skip
    try:
        assert kw.sources == ["vmstat"]
        assert any("no kernel log" in f for f in kw.fallbacks)
        assert kw.poll(0.0) == []
        vmstat.write_text("pgfault 5\noom_kill 5\n")
        kills = kw.poll(1.5)
        assert [(k.pid, k.source, k.kernel_line, k.t_s) for k in kills] == [
            (None, "vmstat", None, 1.5)
        ] * 2
    finally:
        kw.close()


# --- classify_exit ----------------------------------------------------------------------

K = -signal.SIGKILL


def _kill(pid: int | None) -> OomKill:
    return OomKill(1.0, pid, "python" if pid else None, 1 << 20 if pid else None, "kmsg", None)


@pytest.mark.parametrize(
    ("rc", "kills", "manual", "rose", "oomd", "how"),
    [
        (K, [_kill(10)], False, True, False, "oom_kill"),
        (K, [_kill(10)], False, False, False, "oom_kill"),  # the kernel named it
        (K, [_kill(None)], False, True, False, "oom_kill"),  # counter only
        (K, [], False, True, False, "oom_kill"),
        (K, [], False, False, False, "sigkill"),
        (K, [], False, False, True, "sigkill"),
        (K, [_kill(11)], False, True, False, "sigkill"),  # the kernel killed someone else
        (K, [], True, False, False, "manual_kill"),
        (K, [_kill(None)], True, True, False, "manual_kill"),
        (K, [_kill(10)], True, True, False, "oom_kill"),
        (0, [], False, False, False, "exit"),
        (3, [_kill(10)], False, True, False, "exit"),
        (-signal.SIGTERM, [], False, False, False, "signal"),
        (None, [_kill(10)], False, True, False, "oom_kill"),
        (None, [], False, True, False, "exit"),
    ],
)
def test_classify_exit(rc, kills, manual, rose, oomd, how) -> None:
    ex = classify_exit(rc, 10, kills, manual=manual, t_s=2.0, oom_counter_rose=rose, oomd=oomd)
    assert (ex.how, ex.pid, ex.returncode, ex.t_s) == (how, 10, rc, 2.0)
    assert ex.detail and "\n" not in ex.detail
    assert ("systemd-oomd" in ex.detail) == (oomd and how == "sigkill")
