"""Open Sound Control (docs/osc.md): a sim show's frames and events to a real python-osc
server, cues over UDP to a running show, garbage ignored and counted. All traffic stays on
127.0.0.1; every wait is bounded by a deadline."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from oomphony.cli import command as cli
from oomphony.commands import Action, RateCue
from oomphony.cues import OscCounters, Status
from oomphony.show import oscin, oscout
from oomphony.show.oscin import OscListener, read_cue
from oomphony.units import MiB

ROOT = Path(__file__).resolve().parent.parent
LOCAL = "127.0.0.1"
SO_RCVBUFFORCE = 33  # Linux's value (socket(7)); Python names no constant for it
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
SHOW = [sys.executable, "-m", "oomphony", "run", "talk", "--backend", "sim", "--display", "none",
        "--no-audio", "--speed", "1", "--duration", "150"]  # fmt: skip


def wait_for(what: str, check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy, for at most `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


# --- out: a sim show's frames and events to a real python-osc server ------------------------


class Recorder(Dispatcher):
    """python-osc's dispatcher, also keeping each datagram (parsed after the show, so the
    receiving thread stays quick)."""

    def __init__(self) -> None:
        super().__init__(strict_timing=False)
        self.datagrams: list[bytes] = []
        self.handled: list[str] = []
        self.set_default_handler(lambda address, *args: self.handled.append(address))

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        self.datagrams.append(data)
        return super().call_handlers_for_packet(data, client_address)

    def packets(self) -> list[tuple[bool, list[tuple[float, str, list[Any]]]]]:
        """Each datagram: a bundle or not, and its messages with their time tags."""
        out = []
        for data in list(self.datagrams):
            msgs = osc_packet.OscPacket(data).messages
            out.append(
                (
                    OscBundle.dgram_is_bundle(data),
                    [(m.time, m.message.address, list(m.message.params)) for m in msgs],
                )
            )
        return out  # fmt: skip


@pytest.fixture
def osc_server() -> Iterator[tuple[Recorder, int]]:
    rec = Recorder()
    server = BlockingOSCUDPServer((LOCAL, 0), rec)
    # a receiver's buffer for a few seconds of bundles (SO_RCVBUFFORCE: as root, past
    # net.core.rmem_max), as a tool that reads OSC on a busy machine would set
    opt = SO_RCVBUFFORCE if os.geteuid() == 0 else socket.SO_RCVBUF
    server.socket.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield rec, server.server_address[1]
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def _expected(frame: dict[str, Any]) -> dict[str, float | None]:
    """The values docs/osc.md promises for a trace frame, from the trace's own keys."""
    cage, alloc, rates, psi = frame["cage"], frame["alloc"], frame["rates"], frame["psi"]
    limit = cage["limit_b"]
    swap_limit = min(cage["swap_limit_b"], frame["machine"]["swap_total_b"])

    def unit(x: float) -> float:
        return min(1.0, max(0.0, x))

    def rate(v: float | None) -> float | None:
        return None if v is None else unit(v / limit)

    alloc_bps = alloc["rate_bps"] if alloc["alive"] else 0.0
    return {
        "/oomphony/t": frame["t"],
        "/oomphony/usage": unit(cage["usage_b"] / limit),
        "/oomphony/cache": unit(cage["cache_b"] / limit),
        "/oomphony/anon": unit(cage["anon_b"] / limit),
        "/oomphony/swap": unit(cage["swap_b"] / swap_limit) if swap_limit else 0.0,
        "/oomphony/psi/some": psi["some"],
        "/oomphony/psi/full": psi["full"],
        "/oomphony/alloc/rate": unit(alloc_bps / limit),
        "/oomphony/alloc/rate_bps": alloc_bps,
        "/oomphony/swapout/rate": rate(rates["swapout_bps"]),
        "/oomphony/swapout/rate_bps": rates["swapout_bps"],
        "/oomphony/swapin/rate": rate(rates["swapin_bps"]),
        "/oomphony/swapin/rate_bps": rates["swapin_bps"],
        "/oomphony/alive": int(alloc["alive"]),
    }


def _read(path: Path) -> tuple[list[dict], list[dict]]:
    lines = [json.loads(x) for x in path.read_text().splitlines()[1:] if x.strip()]
    return [x for x in lines if "event" not in x], [x for x in lines if "event" in x]


def test_a_sim_shows_frames_and_events_reach_an_osc_server_and_match_its_trace(
    tmp_path: Path, osc_server: tuple[Recorder, int]
) -> None:
    rec, port = osc_server
    trace = tmp_path / "t.jsonl"
    args = [*SHOW[:4], "speedrun", "--backend", "sim", "--display", "none", "--no-audio",
            "--speed", "4", "--record", str(trace), "--osc-out", f"{LOCAL}:{port}"]  # fmt: skip
    started = time.time()
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env=ENV,
                         stdin=subprocess.DEVNULL)  # fmt: skip
    assert out.returncode == 0, out.stderr
    frames, events = _read(trace)
    osc_end = next(e for e in events if e["event"] == "osc")
    assert osc_end["send_errors"] == 0
    # the datagrams still in the receiver's buffer are read, or the wait ends (no assert:
    # UDP may lose some; the ≥ 95 % below is the criterion)
    deadline = time.monotonic() + 10
    while len(rec.datagrams) < osc_end["sent"] and time.monotonic() < deadline:
        time.sleep(0.05)
    packets = rec.packets()

    bundles = [msgs for is_bundle, msgs in packets if is_bundle]
    by_slot: dict[int, dict[str, Any]] = {}
    for msgs in bundles:
        values = {address: args[0] for _, address, args in msgs}
        tags = {tag for tag, _, _ in msgs}
        assert len(tags) == 1 and started - 1 <= tags.pop() <= time.time() + 1  # one timetag
        by_slot[round(values["/oomphony/t"] * 50)] = values
    assert len(frames) > 1000  # 26 s of show time at 50 Hz
    matched = [f for f in frames if round(f["t"] * 50) in by_slot]
    assert len(matched) >= 0.95 * len(frames), (len(matched), len(frames))

    scripted = [e for e in events if e["event"] == "act" and not e["recognised"]]
    for f in matched:
        got = by_slot[round(f["t"] * 50)]
        for address, want in _expected(f).items():
            if want is None:
                assert address not in got, (f["t"], address)
            else:
                assert got[address] == pytest.approx(want, rel=1e-6, abs=1e-6), (f["t"], address)
        act = [e for e in scripted if e["t"] <= f["t"] + 1e-9][-1]
        assert (got["/oomphony/act"], got["/oomphony/act/kind"]) == (act["name"], act["kind"])
        assert got["/oomphony/act/index"] == scripted.index(act)

    # every act and kill event, as messages of their own
    sent = [(a, args) for is_bundle, msgs in packets if not is_bundle for _, a, args in msgs]
    acts = [args[:3] for a, args in sent if a == "/oomphony/event/act"]
    want_acts = [
        [e["name"], e["kind"], int(e["recognised"])] for e in events if e["event"] == "act"
    ]
    assert acts == want_acts and len(acts) >= 10
    kills = [args for a, args in sent if a == "/oomphony/event/oom_kill"]
    want_kills = [e for e in events if e["event"] == "oom_kill"]
    assert len(kills) == len(want_kills) == 1
    pid, comm, kib, t = kills[0]
    assert (pid, comm, kib) == (want_kills[0]["pid"], want_kills[0]["comm"],
                                want_kills[0]["anon_rss_b"] // 1024)  # fmt: skip
    assert t == pytest.approx(want_kills[0]["t"], abs=1e-3)
    assert "/oomphony/event/oom_kill" in rec.handled  # python-osc's own dispatch saw it


def test_a_dead_receiver_costs_nothing_and_the_show_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_udp_port()  # nobody listens: the kernel answers "port unreachable"
    trace = tmp_path / "t.jsonl"
    args = ["run", "speedrun", "--backend", "sim", "--display", "none", "--no-audio",
            "--speed", "50", "--duration", "5", "--record", str(trace),
            "--osc-out", f"{LOCAL}:{port}"]  # fmt: skip
    assert cli.main(args) == 0
    frames, events = _read(trace)
    osc_end = next(e for e in events if e["event"] == "osc")
    assert osc_end["sent"] + osc_end["send_errors"] >= len(frames)
    assert events[-1]["reason"] == "duration"
    printed = capsys.readouterr().out
    assert (
        f"osc: {osc_end['sent']} datagrams sent ({osc_end['send_errors']} failed), "
        "0 cues, 0 ignored"
    ) in printed


# --- in: cues over UDP to a running sim show ----------------------------------------------


class Show:
    """A sim show in a child process, listening for OSC cues, read through its trace."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.trace = tmp_path / "t.jsonl"
        self.proc = subprocess.Popen(
            [*SHOW, "--record", str(self.trace), "--osc-in", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )

    def lines(self) -> list[dict]:
        if not self.trace.exists():
            return []
        text = self.trace.read_text()
        return [json.loads(x) for x in text.splitlines()[1:] if x.endswith("}")]

    def events(self, kind: str) -> list[dict]:
        return [x for x in self.lines() if x.get("event") == kind]

    def frames_after(self, t: float) -> list[dict]:
        return [x for x in self.lines() if "event" not in x and x["t"] > t]

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the show's own clean interrupt
        try:
            return self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()


def test_cues_over_udp_drive_a_running_show_and_garbage_is_counted(tmp_path: Path) -> None:
    port = free_udp_port()
    show = Show(tmp_path, port)
    client = SimpleUDPClient(LOCAL, port)
    try:
        wait_for("the show's first frames", lambda: show.frames_after(0.1))

        def cue(address: str, *args: Any, action: str) -> dict:
            n = len([c for c in show.events("cue") if c["action"] == action])
            client.send_message(address, list(args))
            return wait_for(
                f"the cue {address}",
                lambda: [c for c in show.events("cue") if c["action"] == action][n:],
            )[0]

        paused = cue("/oomphony/pause", action="pause_on")
        wait_for("a held allocator", lambda: [f for f in show.frames_after(paused["t"])
                                              if f["alloc"]["rate_bps"] == 0.0])  # fmt: skip
        rate = cue("/oomphony/rate", 7.5, action="rate")
        assert rate["value"] == 7.5 * MiB and rate["sender"].startswith(f"{LOCAL}:")
        resumed = cue("/oomphony/resume", action="resume")
        at_rate = wait_for("the cued rate", lambda: [
            f for f in show.frames_after(resumed["t"]) if f["alloc"]["rate_bps"] > 0])  # fmt: skip
        assert at_rate[0]["alloc"]["rate_bps"] == pytest.approx(7.5 * MiB)
        assert rate["t"] < resumed["t"]

        nxt = cue("/oomphony/go", action="next_act")
        acts = wait_for(
            "the next act",
            lambda: [a for a in show.events("act") if not a["recognised"] and a["t"] >= nxt["t"]],
        )
        assert acts[0]["name"] == "the cache gives way"

        # garbage and wrong types: ignored, counted, a warning each in the trace
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.sendto(b"\x00\x01 not osc at all", (LOCAL, port))
        client.send_message("/oomphony/nope", 1)  # unknown address
        client.send_message("/oomphony/rate", "fast")  # not a rate
        client.send_message("/oomphony/next", "now")  # a string where a number may be
        client.send_message("/oomphony/rate/factor", -2.0)  # out of range
        warnings = wait_for("five warnings", lambda: (w := show.events("warning"))[4:] and w)
        assert [w["count"] for w in warnings] == [1, 2, 3, 4, 5]
        assert {w["about"] for w in warnings} == {"osc"}
        reasons = " | ".join(w["detail"] for w in warnings)
        for part in (
            "not OSC",
            "unknown address /oomphony/nope",
            "wrong arguments /oomphony/rate",
            "wrong arguments /oomphony/next",
            "wrong arguments /oomphony/rate/factor",
        ):
            assert part in reasons, reasons  # fmt: skip
        assert show.proc.poll() is None  # still running

        killed = cue("/oomphony/kill", action="kill")
        exits = wait_for("the kill", lambda: show.events("allocator_exit"))
        assert exits[0]["how"] == "manual_kill" and exits[0]["t"] >= killed["t"] - 0.05
    finally:
        client._sock.close()
        _out, err = show.stop()
    assert show.proc.returncode in (0, 130), err
    assert "Traceback" not in err


# --- the pure parts: the cue table, the listener's counters, the HUD -------------------------


@pytest.mark.parametrize(
    ("address", "args", "want"),
    [
        ("/oomphony/next", (), Action.NEXT_ACT),
        ("/oomphony/go", (), Action.NEXT_ACT),
        ("/oomphony/go", (1,), Action.NEXT_ACT),
        ("/oomphony/go", (0.0,), None),  # a button's release
        ("/oomphony/go", ("x",), "wrong arguments"),
        ("/oomphony/go", (1, 2), "wrong arguments"),
        ("/oomphony/pause", (), Action.PAUSE_ON),
        ("/oomphony/resume", (True,), Action.RESUME),
        ("/oomphony/kill", (), Action.KILL),
        ("/oomphony/restart", (), Action.RESTART),
        ("/oomphony/rate/up", (), Action.RATE_UP),
        ("/oomphony/rate/down", (), Action.RATE_DOWN),
        ("/oomphony/mute", (), Action.MUTE),
        ("/oomphony/mute", (1,), Action.MUTE_ON),
        ("/oomphony/mute", (0,), Action.MUTE_OFF),
        ("/oomphony/rate", (50,), RateCue(rate_bps=50 * MiB)),
        ("/oomphony/rate", ("20MiB/s",), RateCue(rate_bps=20 * MiB)),
        ("/oomphony/rate", (0.0,), RateCue(rate_bps=0.0)),
        ("/oomphony/rate", (-1.0,), "wrong arguments"),
        ("/oomphony/rate", (float("nan"),), "wrong arguments"),
        ("/oomphony/rate", ("fast",), "wrong arguments"),
        ("/oomphony/rate", (), "wrong arguments"),
        ("/oomphony/rate/factor", (1.5,), RateCue(factor=1.5)),
        ("/oomphony/rate/factor", (0,), "wrong arguments"),
        ("/oomphony/rate/factor", (1000.0,), "wrong arguments"),
        ("/oomphony/quit", (), "unknown address"),
        ("/other/next", (), "unknown address"),
    ],
)
def test_read_cue(address: str, args: tuple, want: object) -> None:
    assert read_cue(address, args) == want


def test_the_listener_counts_what_it_ignores_and_keeps_cues_in_order() -> None:
    listener = OscListener(LOCAL, 0)
    client = SimpleUDPClient(LOCAL, listener.address[1])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            for junk in (b"", b"#bundle\x00", b"/x\x00", bytes(range(256))):
                raw.sendto(junk, listener.address)
        client.send_message("/oomphony/next", [])
        client.send_message("/oomphony/mute", [1])
        client.send_message("/oomphony/what", [])
        wait_for("two cues", lambda: len(listener.cues) >= 2, 10)
        wait_for("the ignored messages", lambda: listener.n_ignored >= 5, 10)
        assert [r.cue for r in listener.cues] == [Action.NEXT_ACT, Action.MUTE_ON]
        assert listener.n_cues == 2
        assert listener.n_ignored == 5
        assert {i.reason for i in listener.ignored} == {"not OSC", "unknown address"}
    finally:
        client._sock.close()
        listener.close()
    assert not listener._thread.is_alive()


def test_the_hud_shows_the_osc_counters() -> None:
    from oomphony.picture.hud import HudInfo, hud_lines

    quiet = "\n".join(hud_lines(HudInfo(60.0, 2.0, Status())))
    assert "osc" not in quiet
    shown = "\n".join(hud_lines(HudInfo(60.0, 2.0, Status(osc=OscCounters(120, 3, 4, 5)))))
    assert "osc: sent 120 (errors 3)  cues 4  ignored 5" in shown


# --- the command line: bad input, a missing python-osc, a port in use ----------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--osc-out", "9000"], "expected HOST:PORT"),
        (["--osc-out", "127.0.0.1:99999"], "port must be a number from 1 to 65535"),
        (["--osc-out", "127.0.0.1:x"], "port must be a number"),
        (["--osc-in", "0"], "port must be a number"),
        (["--osc-in", "no such host!:9000"], "unknown host"),
    ],
)
def test_malformed_osc_addresses_are_one_line_and_exit_2(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["run", "--backend", "sim", "--display", "none", "--no-audio", "--duration", "1"]
    assert cli.main([*base, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and says in err


def test_without_python_osc_the_options_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pythonosc", None)  # Python's "not importable" marker
    base = ["run", "--backend", "sim", "--display", "none", "--no-audio", "--duration", "1"]
    assert cli.main([*base, "--osc-out", f"{LOCAL}:9000"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pip install 'oomphony[osc]'" in err


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((LOCAL, 0))
        port = taken.getsockname()[1]
        base = ["run", "--backend", "sim", "--display", "none", "--no-audio", "--duration", "1"]
        assert cli.main([*base, "--osc-in", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"cannot listen on {LOCAL}:{port}" in err


# --- the documentation ---------------------------------------------------------------------


def test_docs_osc_md_lists_every_address_and_no_other() -> None:
    text = (ROOT / "docs" / "osc.md").read_text()
    documented = set(re.findall(r"`(/oomphony[\w/]*)`", text))
    code = {*oscout.FRAME_ADDRESSES, *oscout.EVENT_TYPES, *oscin.CUE_ADDRESSES}
    assert documented == code, (sorted(documented - code), sorted(code - documented))
    assert "(docs/osc.md)" in (ROOT / "README.md").read_text()


def test_event_messages_skip_unknown_numbers_as_minus_one() -> None:
    from oomphony.frame import OomKill

    (datagram,) = oscout.event_messages([OomKill(1.5, None, None, None, "vmstat", None)])
    msg = osc_packet.OscPacket(datagram).messages[0].message
    assert msg.address == "/oomphony/event/oom_kill"
    assert msg.params[:3] == [-1, "", -1] and math.isclose(msg.params[3], 1.5)


def test_a_value_osc_cannot_carry_is_counted_not_raised() -> None:
    from oomphony.cues import Cues
    from oomphony.frame import AllocState, CageMem, MachineMem, MemoryFrame
    from oomphony.show.config import OscConfig
    from oomphony.show.osc import OscLink

    machine = MachineMem(8 * 1024 * MiB, 4096 * MiB, None, 0, None, 0, 0)
    cage = CageMem(512 * MiB, 0, 100 * MiB, 10 * MiB, 90 * MiB, 0, 0)
    frame = MemoryFrame(1.0, machine, cage, AllocState(7, True, 90 * MiB, None, None, 1e6))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind((LOCAL, 0))
        rx.settimeout(5)
        link = OscLink(OscConfig(out=((LOCAL, rx.getsockname()[1]),)), lambda _s: None)
        try:
            link.send_frame(frame, Cues(t_s=1.0, act_index=2**40))  # not an OSC int32
            link.send_frame(frame, Cues(t_s=1.0, act_index=2))
            msgs = {m.message.address: m.message.params
                    for m in osc_packet.OscPacket(rx.recv(65536)).messages}  # fmt: skip
        finally:
            link.close()
    assert link.counters() == OscCounters(sent=1, send_errors=1, cues=0, ignored=0)
    assert msgs["/oomphony/act/index"] == [2]
    assert msgs["/oomphony/usage"][0] == pytest.approx(100 / 512)
    assert "/oomphony/psi/some" not in msgs  # the frame has no PSI: left out, not 0


def test_mute_cues_set_the_sound_and_the_toggle_still_toggles() -> None:
    from oomphony.show.runner import Runner
    from oomphony.sound import AudioOutput

    out = AudioOutput.open(no_audio=True)
    runner = Runner(audio=out)
    try:
        seen = []
        for cue in (Action.MUTE_ON, Action.MUTE_ON, Action.MUTE_OFF, Action.MUTE, Action.MUTE):
            assert runner._act_on([cue], None) == ()  # the runner's own, not the director's
            seen.append((runner.muted, out._muted))
        assert seen == [(True, True), (True, True), (False, False), (True, True), (False, False)]
        assert runner._act_on([RateCue(factor=2.0), Action.RESUME], None) == (
            RateCue(factor=2.0),
            Action.RESUME,
        )
    finally:
        out.close()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.10", False), ("studio.local", False)],
)  # fmt: skip
def test_only_loopback_listening_goes_without_a_notice(host: str, loopback: bool) -> None:
    from oomphony.show.osc import is_loopback

    assert is_loopback(host) is loopback
