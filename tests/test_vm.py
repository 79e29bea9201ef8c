"""The platforms people really have, tested in a Debian 12 guest (tests/vm/).

One boot of the guest (qemu; software emulation where KVM does not work) runs every
scenario in turn on the real cgroup v2 kernel: a normal user with a lingering systemd
user session, root, a user with no session, systemd-oomd, the bare console. The image is
built from Debian's packages and cached (tests/vm/vm_image.py); a cold cache downloads from
Debian's archive and PyPI once.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from oomphony.units import MiB

sys.path.insert(0, str(Path(__file__).resolve().parent / "vm"))
import vm_boot as vmrun

pytestmark = [pytest.mark.vm, pytest.mark.slow]

# (scenario, time limit in seconds) — sized for software emulation (Python ~6× slower,
# importing numpy and pygame ~12–16×).
SCENARIOS = [
    ("user_session", 480),
    ("root", 360),
    ("nosession", 300),
    ("oomd", 300),
    ("sound", 300),
    ("console", 400),
    # two machine-wide shows in a row (perf/bench_global.py runs ten: global10.sh)
    ("global", 1500),
]
CAGE_NAME = re.compile(r"oomphony-\d+-\d+")


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> vmrun.Boot:
    io = tmp_path_factory.mktemp("vm") / "io"
    boot = vmrun.boot(SCENARIOS, io)
    print(f"vm: {len(SCENARIOS)} scenarios in one boot, {boot.seconds:.0f} s ({boot.accel})")
    return boot


def _result(vm: vmrun.Boot, name: str) -> vmrun.Result:
    r = vm.results[name]
    assert r.rc == 0, f"{name}: rc={r.rc}\n{r.stderr[-3000:]}\nconsole:\n{vm.console[-3000:]}"
    return r


def _lines(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def _check_caged_show(r: vmrun.Result, how: str) -> list[dict]:
    """A recorded live run in a cage: cage values in every frame, the cache filled then
    drained, swap used up to the cage's limit, exactly one OOM kill proven by the cage's
    own counter and named as the kernel's."""
    assert r.text("record.rc").strip() == "0", r.text("record.err")
    lines = _lines(r.dir / "trace.jsonl")
    header, frames = lines[0], [ln for ln in lines[1:] if "event" not in ln]
    events = [ln for ln in lines[1:] if "event" in ln]
    cage = header["cage"]
    assert cage["version"] == 2 and cage["how"] == how, cage
    assert CAGE_NAME.search(cage["path"])
    assert frames and all(f["cage"] is not None for f in frames), "a frame without the cage"
    assert all(f["cage"]["limit_b"] == cage["memory_b"] for f in frames)
    # memory.current may pass memory.max by the per-CPU charge batches (64 pages each).
    assert max(f["cage"]["usage_b"] for f in frames) <= cage["memory_b"] + 2 * 64 * 4096
    # The cache act: the 32 MiB read into the cage, then reclaimed to (nearly) nothing.
    cache = [f["cage"]["cache_b"] for f in frames]
    peak = cache.index(max(cache))
    assert cache[peak] >= 24 * MiB and min(cache[peak:]) <= cache[peak] // 5, cache[peak]
    # The swap act: the cage's swap fills to its limit.
    assert max(f["cage"]["swap_b"] for f in frames) >= 0.9 * cage["swap_b"]
    kills = [e for e in events if e["event"] == "oom_kill"]
    assert len(kills) == 1, kills
    assert kills[0]["source"] == "memory.events" or kills[0]["kernel_line"]
    (exit_ev,) = [e for e in events if e["event"] == "allocator_exit"]
    assert exit_ev["how"] == "oom_kill", exit_ev
    assert "kernel's OOM killer" in exit_ev["detail"]
    acts = [e for e in events if e["event"] == "act"]
    assert [a["kind"] for a in acts if a["recognised"]] == ["kill"], acts
    assert frames[-1]["cage"]["oom_kills"] == 1
    return lines


def _check_nothing_left(r: vmrun.Result) -> None:
    for name in sorted(p.name for p in r.dir.glob("leftovers*.txt")):
        assert r.text(name).strip() == "", f"{name}: left behind:\n{r.text(name)}"
    assert list(r.dir.glob("leftovers*.txt"))


def test_user_session_doctor_names_the_scope(vm: vmrun.Boot) -> None:
    r = _result(vm, "user_session")
    doctor = r.text("doctor.txt")
    assert r.text("doctor.rc").strip() == "0", doctor
    assert "systemd-run --user scope" in doctor
    assert "live backend in a cage" in doctor


def test_user_session_show_is_caged_and_killed_by_the_kernel(vm: vmrun.Boot) -> None:
    r = _result(vm, "user_session")
    lines = _check_caged_show(r, "systemd-run --user scope")
    kill = next(e for e in lines if e.get("event") == "oom_kill")
    if kill["kernel_line"] is None:
        # dmesg_restrict=1 and not in group adm: neither /dev/kmsg nor the journal's
        # kernel lines are the user's to read; the show says so instead of a line.
        assert r.text("dmesg_restrict").strip() == "1"
        assert "no kernel log" in r.text("record.err"), r.text("record.err")
        assert "could not be read" in r.text("record.out")
    else:
        assert "UID:1000" in kill["kernel_line"]
    # Root's view of the kernel log: it was the kernel's memory-cgroup OOM kill, of the
    # allocator (the record's pid), in the scope.
    pid = next(e["pid"] for e in lines if e.get("event") == "allocator_exit")
    killed = [ln for ln in r.text("dmesg.txt").splitlines() if "Killed process" in ln]
    assert len(killed) == 1 and f"Killed process {pid} " in killed[0], killed
    assert "Memory cgroup out of memory" in killed[0] and "UID:1000" in killed[0]


def test_user_session_leaves_nothing_even_when_killed(vm: vmrun.Boot) -> None:
    _check_nothing_left(_result(vm, "user_session"))


def test_user_session_sleeper_joins_the_scope(vm: vmrun.Boot) -> None:
    """The sleeper (the `rearrange` setlist's) is started by the show after the scope
    exists; started from a login session, the show may not move it there itself, so it
    joins through the user's systemd. It fills and swaps inside the cage."""
    r = _result(vm, "user_session")
    assert r.text("sleeper.rc").strip() == "0", r.text("sleeper.err")
    assert "oomphony sleeper:" not in r.text("sleeper.err"), r.text("sleeper.err")
    lines = _lines(r.dir / "sleeper.jsonl")
    scope = Path(lines[0]["cage"]["path"]).name
    where = r.text("sleeper-cgroup.txt").strip()
    assert where.startswith("0::/") and where.endswith(f"/{scope}"), (where, scope)
    frames = [ln for ln in lines[1:] if "event" not in ln]
    sleepers = [f["sleeper"] for f in frames if f.get("sleeper")]
    assert sleepers and max(s["allocated_b"] for s in sleepers) >= 0.9 * 24 * MiB, sleepers[-1:]


def test_root_on_cgroup_v2(vm: vmrun.Boot) -> None:
    r = _result(vm, "root")
    assert "cgroup v2 delegated" in r.text("doctor.txt")
    lines = _check_caged_show(r, "cgroup v2 delegated")
    kill = next(e for e in lines if e.get("event") == "oom_kill")
    assert kill["kernel_line"] and "UID:0" in kill["kernel_line"]
    _check_nothing_left(r)


def test_no_session_names_the_fix_and_falls_back(vm: vmrun.Boot) -> None:
    r = _result(vm, "nosession")
    err = r.text("record.err").strip().splitlines()
    assert r.text("record.rc").strip() != "0"
    assert len(err) == 1 and "systemd-run --user" in err[0] and "--global" in err[0], err
    auto = r.text("auto.err") + r.text("auto.out")
    assert r.text("auto.rc").strip() == "0", auto
    notices = [ln for ln in auto.splitlines() if "Running the simulator" in ln]
    assert len(notices) == 1, auto
    assert "cannot make a memory cage" in notices[0] and "enable-linger" in notices[0]
    header = json.loads(r.text("auto-head.jsonl").splitlines()[0])
    assert header["cage"]["kind"] == "sim"
    _check_nothing_left(r)


def test_oomd_acting_first_is_never_called_a_kernel_oom_kill(vm: vmrun.Boot) -> None:
    r = _result(vm, "oomd")
    oomd_log = r.text("oomd.log")
    assert r.text("record.rc").strip() == "0", r.text("record.err")
    assert "Killed" in oomd_log and "oomphony-" in oomd_log, oomd_log  # oomd did act
    assert r.text("kernel-kills.txt").strip() == ""  # and the kernel did not
    events = [ln for ln in _lines(r.dir / "trace.jsonl") if "event" in ln]
    assert not [e for e in events if e["event"] == "oom_kill"]
    (exit_ev,) = [e for e in events if e["event"] == "allocator_exit"]
    assert exit_ev["how"] == "sigkill", exit_ev
    assert "systemd-oomd" in exit_ev["detail"]
    assert "kernel's OOM killer" not in exit_ev["detail"]
    assert "did not record as an OOM kill" in r.text("record.out")
    _check_nothing_left(r)


def test_sound_through_the_guests_jack_dummy(vm: vmrun.Boot) -> None:
    r = _result(vm, "sound")
    assert r.text("show.rc").strip() == "0", r.text("show.err")[-3000:]
    events = [ln for ln in _lines(r.dir / "trace.jsonl") if "event" in ln]
    (audio,) = [e for e in events if e["event"] == "audio"]
    # What the synth and the audio process's start cost in this guest (dspcost.py, the
    # imports): under emulation (TCG) one 512-frame block took 2.4–14.6 ms (median, quiet
    # to every voice) of its 10.67 ms, 45–140× the host, and the imports 9–38 s.
    cost = f"{r.text('imports.txt').strip()}; {r.text('dspcost.txt').strip()}"
    print(cost)
    if vm.accel == "tcg" and "did not answer" in r.text("show.err"):
        # The audio process must answer within 60 s (sound/process.py); its imports
        # alone can take longer under emulation on a busy host. The show goes on silent.
        pytest.xfail(f"the audio process started too slowly under TCG emulation: {cost}")
    assert "audio failed" not in r.text("show.err"), r.text("show.err")[-2000:]
    assert audio["worst_callback_ms"] > 0, audio  # the stream really ran
    if vm.accel == "tcg" and audio["underflows"]:
        # Under software emulation the callback's numpy calls cost ~50–140× the host's:
        # a 512-frame block can take longer to render than it lasts (measured: 298
        # underflows in 32 s, the worst callback 65 ms). Only a KVM guest holds this to 0.
        pytest.xfail(f"{audio['underflows']} underflows under TCG emulation: {audio}; {cost}")
    assert audio["underflows"] == 0, audio
    _check_nothing_left(r)


def _picture(path: Path) -> tuple[int, float]:
    """(distinct colours, mean brightness 0–255) of a PPM capture."""
    import numpy as np
    import pygame

    px = pygame.surfarray.array3d(pygame.image.load(str(path)))
    flat = px.reshape(-1, 3)
    return len(np.unique(flat[::7], axis=0)), float(flat.mean())


def test_bare_console_show_runs_through_kmsdrm(vm: vmrun.Boot) -> None:
    """A normal user in group video runs the live speedrun on the guest's display through
    SDL's KMSDRM driver (bochs-drm), caged in a systemd scope, to the kernel's kill."""
    r = _result(vm, "console")
    assert r.text("show.rc").strip() == "0", r.text("show.err")[-3000:]
    assert "display console via KMSDRM" in r.text("show.err")
    lines = _lines(r.dir / "trace.jsonl")
    frames = [ln for ln in lines[1:] if "event" not in ln]
    events = [ln for ln in lines[1:] if "event" in ln]
    assert lines[0]["cage"]["how"] == "systemd-run --user scope"
    assert all(f["cage"] is not None for f in frames)
    recognised = [e["kind"] for e in events if e["event"] == "act" and e["recognised"]]
    assert {"cache", "swap", "kill"} <= set(recognised), recognised
    (exit_ev,) = [e for e in events if e["event"] == "allocator_exit"]
    assert exit_ev["how"] == "oom_kill"
    _check_nothing_left(r)


def test_bare_console_screen_shows_the_show(vm: vmrun.Boot) -> None:
    """What the audience would see at the cache, swap and kill acts: qemu's `screendump`
    of the guest's display (what a monitor on the VM shows) and the framebuffer the CRTC
    scans out, read back from video memory in the guest (tests/vm/guest_io/drmshot.py),
    must both show the picture: not a black screen, not the firmware's text console.
    The screendumps are kept as PNG next to them (the README's console screenshots)."""
    import pygame

    r = vm.results["console"]
    pictures = {}
    for kind in ("cache", "swap", "kill"):
        for name in (f"screendump-{kind}.ppm", f"console-{kind}.ppm"):
            shot = r.dir / name
            assert shot.exists(), f"{name} missing\n{r.text('drmshot.log')}"
            pygame.image.save(pygame.image.load(str(shot)), str(shot.with_suffix(".png")))
            colours, brightness = _picture(shot)
            pictures[name] = (colours, brightness)
            # The firmware's text screen (what shows when nothing is scanned out of the
            # show's buffers) has 2 colours and a brightness under 1; the show's has
            # thousands of colours over its dark background.
            assert colours > 100 and brightness > 8, (name, colours, brightness)
    print("console pictures (colours, brightness):", pictures)


KILLED = re.compile(r"(Out of memory|Memory cgroup out of memory): Killed process (\d+) ")


def _global_runs(vm: vmrun.Boot) -> list[Path]:
    r = _result(vm, "global")
    runs = sorted(r.dir.glob("run*"), key=lambda p: int(p.name[3:]))
    assert runs, r.stderr[-2000:]
    return runs


def test_global_show_kills_the_allocator_and_nothing_else(vm: vmrun.Boot) -> None:
    """The machine-wide show, as root beside a bystander and a JACK server: the kernel's
    global OOM killer takes the allocator and nothing else, the show and its audio process
    go on to the end, and the trace holds the kernel's global line and the protections."""
    for d in _global_runs(vm):
        err = (d / "show.err").read_text(errors="replace")
        assert (d / "show.rc").read_text().strip() == "0", f"{d.name}: {err[-2000:]}"
        lines = _lines(d / "trace.jsonl")
        events = [ln for ln in lines[1:] if "event" in ln]
        (exit_ev,) = [e for e in events if e["event"] == "allocator_exit"]
        assert exit_ev["how"] == "oom_kill", exit_ev
        kill = next(e for e in events if e["event"] == "oom_kill")
        assert kill["kernel_line"].startswith(f"Out of memory: Killed process {exit_ev['pid']} ")
        assert "oom_score_adj:1000" in kill["kernel_line"]
        prot = kill["protections"]
        for who in ("show", "audio"):
            assert prot[who]["oom_score_adj"] == "-1000", prot
            assert prot[who]["mlock"].startswith("locked"), prot
        assert prot["allocator"]["oom_score_adj"] == 1000, prot
        assert not [e for e in events if e["event"] == "failure"]
        killed = [int(m.group(2)) for m in KILLED.finditer((d / "dmesg.txt").read_text())]
        assert killed == [exit_ev["pid"]], killed
        assert (events[-1]["event"], events[-1]["reason"]) == ("end", "finished")
        assert (d / "bystander").read_text().strip() == "alive"
        assert (d / "jackd").read_text().strip() == "alive"
        assert (d / "leftovers.txt").read_text().strip() == ""
        audio = next(e for e in events if e["event"] == "audio")
        picture = next(e for e in events if e["event"] == "picture")
        assert audio["worst_callback_ms"] > 0 and picture["frames"] > 0
        probe = (d / "probe").read_text().strip() if (d / "probe").exists() else "none"
        print(f"{d.name}: audio {audio}; picture {picture}; probe {probe}")


def test_global_is_refused_to_a_user_who_cannot_protect_the_show(vm: vmrun.Boot) -> None:
    r = _result(vm, "global")
    assert r.text("refused.rc").strip() == "2"
    (line,) = r.text("refused.err").strip().splitlines()
    assert "cannot protect itself" in line and "--unprotected" in line
    assert "locked" in r.text("doctor.txt") and "--global" in r.text("doctor.txt")
