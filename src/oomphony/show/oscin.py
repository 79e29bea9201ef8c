"""OSC in: remote cues (docs/osc.md), received off the show loop.

`read_cue` is a pure function of an address and its arguments: the `Action` (or
`RateCue`) the same key would give, nothing (a button's release, `0`), or the reason it
is ignored. `OscListener` runs a thread that receives datagrams, parses them with
python-osc (`OscPacket`: a message or a bundle, nested bundles included) and appends what
it found to two bounded deques; the show loop drains them once per tick with `popleft`
(no lock in the frame path: a deque's append and popleft are atomic). Time tags of
incoming bundles are not waited for: a cue acts when it arrives.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
from collections import deque
from typing import NamedTuple

from pythonosc import osc_packet

from oomphony.commands import Action, Pressed, RateCue
from oomphony.errors import OomphonyError
from oomphony.units import MiB, parse_rate

log = logging.getLogger(__name__)

POLL_S = 0.1  # the thread checks for close this often
MAX_RATE_MIB_S = 100_000.0  # /oomphony/rate: 0..this MiB/s
MAX_FACTOR = 100.0  # /oomphony/rate/factor: (0, this]
QUEUE_MAX = 256  # cues or ignored messages waiting for the show loop; older ones drop
DATAGRAM_MAX = 65_536

# Cues that take no argument (or one number: non-zero fires, 0 is a button's release).
TRIGGERS: dict[str, Action] = {
    "/oomphony/next": Action.NEXT_ACT,
    "/oomphony/go": Action.NEXT_ACT,  # the show-control convention (QLab's /go)
    "/oomphony/pause": Action.PAUSE_ON,
    "/oomphony/resume": Action.RESUME,
    "/oomphony/kill": Action.KILL,
    "/oomphony/restart": Action.RESTART,
    "/oomphony/rate/up": Action.RATE_UP,
    "/oomphony/rate/down": Action.RATE_DOWN,
}
# Cues with a value: `mute` (none: toggle; a number: on/off), `rate` (MiB/s, or a string
# such as "50MiB/s"), `rate/factor` (a factor).
VALUED = ("/oomphony/mute", "/oomphony/rate", "/oomphony/rate/factor")
CUE_ADDRESSES = (*TRIGGERS, *VALUED)


class Ignored(NamedTuple):
    reason: str  # "not OSC", "unknown address", "wrong arguments"
    address: str | None
    sender: str
    count: int = 0  # how many were ignored, this one included


class Received(NamedTuple):
    cue: Pressed
    address: str
    sender: str


def _number(args: tuple[object, ...]) -> float | None:
    """The one numeric argument (int, float or an OSC True/False), else None."""
    if len(args) != 1 or isinstance(args[0], str | bytes):
        return None
    v = args[0]
    if isinstance(v, bool | int | float) and math.isfinite(float(v)):
        return float(v)
    return None


def read_cue(address: str, args: tuple[object, ...]) -> Pressed | str | None:
    """The cue for an OSC message: a `Pressed`, None (nothing to do), or why it is
    ignored ("unknown address", "wrong arguments")."""
    if address in TRIGGERS:
        if not args:
            return TRIGGERS[address]
        v = _number(args)
        if v is None:
            return "wrong arguments"
        return TRIGGERS[address] if v != 0 else None
    if address == "/oomphony/mute":
        if not args:
            return Action.MUTE
        v = _number(args)
        if v is None:
            return "wrong arguments"
        return Action.MUTE_ON if v != 0 else Action.MUTE_OFF
    if address == "/oomphony/rate":
        if len(args) == 1 and isinstance(args[0], str):
            try:
                rate = parse_rate(args[0], what="/oomphony/rate")
            except OomphonyError:
                return "wrong arguments"
            mib = rate / MiB
        else:
            v = _number(args)
            if v is None:
                return "wrong arguments"
            mib = v
        if not 0.0 <= mib <= MAX_RATE_MIB_S:
            return "wrong arguments"
        return RateCue(rate_bps=mib * MiB)
    if address == "/oomphony/rate/factor":
        v = _number(args)
        if v is None or not 0.0 < v <= MAX_FACTOR:
            return "wrong arguments"
        return RateCue(factor=v)
    return "unknown address"


class OscListener:
    """Listens on (host, port) in a daemon thread until `close`. The counters are written
    by the thread only."""

    def __init__(self, host: str, port: int) -> None:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, port))
        except OSError:
            self.sock.close()
            raise
        self.sock.settimeout(POLL_S)
        self.address = self.sock.getsockname()[:2]
        self.cues: deque[Received] = deque(maxlen=QUEUE_MAX)
        self.ignored: deque[Ignored] = deque(maxlen=QUEUE_MAX)
        self.n_cues = 0
        self.n_ignored = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="oomphony-osc-in", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(DATAGRAM_MAX)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            try:
                self.handle(data, f"{peer[0]}:{peer[1]}")
            except Exception as err:  # never let a datagram end the listener
                log.warning("an OSC datagram could not be handled: %s", err)

    def handle(self, data: bytes, sender: str) -> None:
        """One datagram: its cues to `cues`, what is wrong with it to `ignored`."""
        try:
            messages = [m.message for m in osc_packet.OscPacket(data).messages]
        except Exception:  # python-osc raises ParseError, and others on odd input
            self._ignore(Ignored("not OSC", None, sender))
            return
        for msg in messages:
            cue = read_cue(msg.address, tuple(msg.params))
            if isinstance(cue, str):
                self._ignore(Ignored(cue, msg.address, sender))
            elif cue is not None:
                self.n_cues += 1
                self.cues.append(Received(cue, msg.address, sender))

    def _ignore(self, what: Ignored) -> None:
        self.n_ignored += 1
        self.ignored.append(what._replace(count=self.n_ignored))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * POLL_S + 1.0)
        self.sock.close()
