"""The machine-wide show's host-side parts (issue 9): the show's self-protection, the
refusal where it cannot protect itself, the lean audio process, the kill of another
process reported as a failure, and the global trace's replay. The global show itself
runs only in the test VM (tests/test_vm.py, tests/vm/scenarios/global.sh): never here."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from oomphony.cage.protect import (
    CAP_IPC_LOCK,
    CAP_SYS_RESOURCE,
    can_protect,
    footprint,
    has_capability,
    lower_oom_score,
    read_oom_score,
)
from oomphony.cli.command import build_parser
from oomphony.cli.runargs import record_config, run_config
from oomphony.cues import Status
from oomphony.errors import UsageError
from oomphony.frame import Failure, OomKill
from oomphony.show.assembly import plan_show
from oomphony.show.shield import (
    check_global,
    lean_display,
    protections_line,
    refusal_reasons,
    service_notice,
)
from oomphony.sound.iir import biquad
from oomphony.sound.process import CHILD_ENV
from oomphony.sound.voices import lowpass_coeffs
from oomphony.sources.kernlog import parse_kill_line
from oomphony.sources.killwatch import other_process_kill
from oomphony.trace.format import event_from_dict, event_to_dict

ROOT = Path(__file__).resolve().parent.parent
ASSET = ROOT / "assets" / "traces" / "global-oom.jsonl"
GLOBAL_LINE = (
    "Out of memory: Killed process 612 (python3) total-vm:1290128kB, anon-rss:780536kB, "
    "file-rss:4kB, shmem-rss:0kB, UID:0 pgtables:1596kB oom_score_adj:1000"
)


def _status(tmp_path: Path, eff: int) -> Path:
    p = tmp_path / "status"
    p.write_text(f"Name:\tpython3\nCapInh:\t0000000000000000\nCapEff:\t{eff:016x}\n")
    return p


@pytest.mark.parametrize(
    ("caps", "needs"),
    [
        ((CAP_SYS_RESOURCE, CAP_IPC_LOCK), set()),
        ((CAP_IPC_LOCK,), {"CAP_SYS_RESOURCE"}),
        ((), {"CAP_SYS_RESOURCE"}),
    ],
)
def test_what_the_show_needs_to_protect_itself(tmp_path: Path, caps, needs) -> None:
    """Root in a container may lack CAP_SYS_RESOURCE (this project's test machine does):
    the capability set decides, not the uid."""
    status = _status(tmp_path, sum(1 << c for c in caps))
    assert all(has_capability(c, status) for c in caps)
    reasons = can_protect(status)
    found = {n for n in ("CAP_SYS_RESOURCE", "CAP_IPC_LOCK") if any(n in r for r in reasons)}
    assert needs <= found
    if CAP_IPC_LOCK in caps:
        assert "CAP_IPC_LOCK" not in found


def test_oom_score_and_footprint_from_proc_files(tmp_path: Path) -> None:
    adj = tmp_path / "oom_score_adj"
    adj.write_text("0\n")
    assert lower_oom_score(adj) == "-1000" and read_oom_score(adj) == -1000
    refused = lower_oom_score(tmp_path / "gone" / "oom_score_adj")
    assert refused.startswith("refused:")
    proc = tmp_path / "proc"
    (proc / "7").mkdir(parents=True)
    (proc / "7" / "status").write_text(
        textwrap.dedent("""\
            VmLck:\t  381000 kB
            VmRSS:\t  150780 kB
            RssAnon:\t   22156 kB
            RssShmem:\t  105104 kB
        """)
    )
    fp = footprint(7, proc)
    assert fp == {"VmLck": 381000 << 10, "VmRSS": 150780 << 10, "RssAnon": 22156 << 10,
                  "RssShmem": 105104 << 10}  # fmt: skip
    assert footprint(8, proc) == {}


def _plan(*argv: str):
    args = build_parser().parse_args(list(argv))
    cfg = record_config(args) if argv[0] == "record" else run_config(args)
    return plan_show(cfg)  # checks only: nothing is started


def test_global_is_refused_where_the_show_cannot_protect_itself(tmp_path: Path) -> None:
    """Where this machine lets the show protect itself there is nothing to refuse (and
    the global show is never started here: it runs in the VM)."""
    reasons = refusal_reasons()
    if not reasons:
        assert check_global(True, False, "live") is None
        pytest.skip("this machine lets the show protect itself: nothing is refused")
    with pytest.raises(UsageError, match=r"cannot protect itself.*--unprotected"):
        _plan("record", str(tmp_path / "t.jsonl"), "--global", "--yes")
    with pytest.raises(UsageError, match="cannot protect itself"):
        _plan("run", "--global", "--yes", "--backend", "live")
    plan = _plan("run", "--global", "--yes", "--backend", "live", "--unprotected")
    assert plan.options["unprotected"] is True
    assert "runs unprotected" in (check_global(True, True, "live") or "")


def test_global_refusal_spares_the_other_backends() -> None:
    assert check_global(False, False, "live") is None
    assert check_global(True, False, "sim") is None  # the simulator endangers nothing
    plan = _plan("run", "--global", "--backend", "sim")
    assert plan.options["global"] is True and plan.options["unprotected"] is False


def test_a_global_window_presents_without_opengl_unless_asked() -> None:
    env: dict[str, str] = {}
    lean_display("console", env)
    assert env == {}  # KMSDRM keeps its OpenGL ES renderer
    lean_display("fullscreen", env)
    assert env == {"SDL_FRAMEBUFFER_ACCELERATION": "0"}
    chosen = {"SDL_FRAMEBUFFER_ACCELERATION": "opengl"}
    lean_display("window", chosen)
    assert chosen == {"SDL_FRAMEBUFFER_ACCELERATION": "opengl"}


def test_a_show_outside_a_service_has_no_oom_policy_notice(tmp_path: Path) -> None:
    cgroup = tmp_path / "cgroup"
    cgroup.write_text("0::/user.slice/user-1000.slice/session-3.scope\n")
    assert service_notice(str(cgroup)) is None
    assert service_notice(str(tmp_path / "missing")) is None


def test_unprotected_without_global_is_bad_input() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "run", "--unprotected", "--backend", "sim"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        "oomphony: --unprotected goes with --global (a caged show needs no protection)"
    ]


@pytest.mark.parametrize("n", [1, 63, 64, 65, 512, 1000, 57600])
@pytest.mark.parametrize(("fc", "q"), [(40.0, 0.7), (200.0, 8.0), (3000.0, 0.707), (21000.0, 10.0)])
def test_the_biquad_is_scipys_lfilter(n: int, fc: float, q: float) -> None:
    """The audio process's own low-pass equals scipy's (transposed direct form II, the
    same carried state), so dropping scipy changed no sample."""
    from scipy.signal import lfilter  # the test extra's reference, not the show's

    rng = np.random.default_rng(n)
    b, a = lowpass_coeffs(fc, q, 48000)
    x, zi = rng.standard_normal((2, n)), rng.standard_normal((2, 2))
    want_y, want_z = lfilter(b, a, x, axis=-1, zi=zi)
    y, z = biquad(b, a, x, zi)
    scale = max(np.max(np.abs(want_y)), 1e-12)
    assert np.max(np.abs(y - want_y)) <= 1e-7 * scale
    assert np.allclose(z, want_z, rtol=1e-7, atol=1e-9 * scale)


def test_the_audio_process_loads_no_scipy_and_one_blas_thread() -> None:
    """What `python -m oomphony.sound.process` imports and touches before its stream (its
    engine warmed up): numpy and PortAudio's binding, not scipy, the story or the WAV sink;
    OpenBLAS without a thread pool."""
    code = textwrap.dedent("""\
        import json, mmap, sys, threading
        import oomphony.sound.process
        from oomphony.sound.engine import Engine
        from oomphony.sound.shm import SIZE, SharedParams
        Engine(SharedParams(mmap.mmap(-1, SIZE * 8)), 48000)
        mods = sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "oomphony"))
        threads = open("/proc/self/status").read().split("Threads:")[1].split()[0]
        print(json.dumps({"mods": mods, "threads": int(threads)}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, **CHILD_ENV},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert not [m for m in found["mods"] if m.startswith("scipy")], found["mods"]
    for heavy in ("oomphony.sound.mapping", "oomphony.trace.story", "oomphony.sound.sinks"):
        assert heavy not in found["mods"]
    assert found["threads"] == 1


def test_a_kill_of_another_process_is_a_failure() -> None:
    kill = parse_kill_line("[ 75.1] " + GLOBAL_LINE)
    assert kill is not None and not kill["memcg"]
    ev = OomKill(3.5, kill["pid"], kill["comm"], kill["anon_rss_b"], "kmsg", kill["line"])
    assert other_process_kill(ev, (612, None)) is None  # the allocator: the show's kill
    failure = other_process_kill(ev, (700, 701))
    assert failure is not None and failure.kind == "other_oom_kill"
    assert "pid 612 (python3)" in failure.detail and failure.kernel_line == GLOBAL_LINE
    counter_only = OomKill(3.5, None, None, None, "vmstat", None)
    assert other_process_kill(counter_only, (700,)) is None


def test_failure_and_protections_survive_the_trace() -> None:
    protections = {"show": {"pid": 1, "mlock": "locked", "oom_score_adj": "-1000"},
                   "allocator": {"oom_score_adj": 1000}}  # fmt: skip
    for ev in (
        Failure(2.0, "other_oom_kill", "the kernel's OOM killer killed another process", 9),
        OomKill(1.0, 612, "python3", 1 << 20, "vmstat", GLOBAL_LINE, 4.0, 9.0, protections),
    ):
        d = json.loads(json.dumps(event_to_dict(ev)))
        assert event_from_dict(d) == ev
    line = protections_line(protections)
    assert line == "show locked, adj -1000 · allocator adj 1000"


def test_the_hud_says_what_protects_the_show_and_what_failed() -> None:
    pytest.importorskip("pygame")
    from oomphony.picture.hud import HudInfo, hud_lines

    st = Status(
        protections="show locked, adj -1000",
        footprint="show 98 MiB · audio 41 MiB",
        failures=("the kernel's OOM killer killed another process: pid 9 (x)",),
    )
    lines = hud_lines(HudInfo(60.0, 2.0, st))
    assert "protected: show locked, adj -1000" in lines
    assert "memory: show 98 MiB · audio 41 MiB" in lines
    assert lines[-1].startswith("FAILURE: the kernel's OOM killer killed another process")


def test_frame_times_per_act_compare_the_pressure_with_the_calm() -> None:
    """The `picture` event's `by_act`: the thrashing stretch against the same show's
    overture (perf/bench_global.py's ratio)."""
    from oomphony.show.stats import FrameStats

    stats = FrameStats(60.0)
    for i, (act, ms) in enumerate([("overture", 2.0)] * 99 + [("overture", 4.0)]
                                  + [("swap", 3.0)] * 10 + [("swap", 9.0)]):  # fmt: skip
        stats.add(i / 60.0, ms, act)
    stats.add(200 / 60.0, 50.0)  # not counted per act
    by_act = stats.act_summary()
    assert by_act == {
        "overture": {"frames": 100, "p50_ms": 2.0, "p99_ms": 2.0, "max_ms": 4.0},
        "swap": {"frames": 11, "p50_ms": 3.0, "p99_ms": 9.0, "max_ms": 9.0},
    }
    assert stats.summary().frames == 112


def test_the_kept_global_trace_holds_the_kernels_line_and_replays(tmp_path: Path) -> None:
    """assets/traces/global-oom.jsonl, recorded in the test VM by tests/vm/scenarios/
    global.sh: the kernel's global line and the protections in its oom_kill event, the
    acts recognised from machine-wide telemetry, and a replay that plays it to the end."""
    assert ASSET.exists(), "the VM's global show's trace must be kept as evidence"
    lines = [json.loads(ln) for ln in ASSET.read_text().splitlines() if ln.strip()]
    header, events = lines[0], [ln for ln in lines[1:] if "event" in ln]
    assert header["cage"] is None and header["options"]["global"] is True
    kill = next(e for e in events if e["event"] == "oom_kill")
    assert kill["kernel_line"].startswith(f"Out of memory: Killed process {kill['pid']} ")
    assert kill["protections"]["show"]["oom_score_adj"] == "-1000"
    assert kill["protections"]["allocator"]["oom_score_adj"] == 1000
    # The swap act and the kill, recognised from the machine's swap and the kill event.
    # (Not the cache act: in the VM the machine's page cache holds the show's own locked
    # libraries and never drops by a quarter; see perf/README.md.)
    recognised = {e["kind"] for e in events if e["event"] == "act" and e["recognised"]}
    assert {"swap", "kill"} <= recognised, recognised
    assert not [e for e in events if e["event"] == "failure"]
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "run", "--backend", "replay", "--trace", str(ASSET),
         "--display", "none", "--speed", "20", "--no-audio", "--record",
         str(tmp_path / "again.jsonl")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"kernel: {kill['kernel_line']}" in out.stdout
    again = [json.loads(ln) for ln in (tmp_path / "again.jsonl").read_text().splitlines()]
    assert [e["pid"] for e in again if e.get("event") == "oom_kill"] == [kill["pid"]]
