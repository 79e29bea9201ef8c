"""The show's Open Sound Control link (docs/osc.md): `--osc-out` senders and the
`--osc-in` listener behind the one hook the runner calls (`runner.Remote`).

python-osc is an optional extra (`pip install 'oomphony[osc]'`): `require_python_osc`
says so in one line, and this module imports the OSC code only when a link is opened.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
from collections.abc import Callable, Sequence

from oomphony.commands import Pressed, RateCue
from oomphony.cues import Cues, OscCounters
from oomphony.errors import UsageError
from oomphony.frame import CueEvent, Event, MemoryFrame, OscReport, WarningEvent
from oomphony.show.config import OscConfig

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'oomphony[osc]'"


def python_osc_missing() -> bool:
    return importlib.util.find_spec("pythonosc") is None


def require_python_osc(option: str) -> None:
    if python_osc_missing():
        raise UsageError(f"{option} needs python-osc, which is not installed: {INSTALL_HINT}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OscLink:
    """Sends each trace frame as a bundle and each act and kill event as a message; hands
    the cues received since the last tick to the runner, with the trace lines they leave
    (a `cue` per cue acted on, a `warning` per message ignored)."""

    def __init__(self, config: OscConfig, notice: Callable[[str], None]) -> None:
        from oomphony.show.oscin import OscListener
        from oomphony.show.oscout import (
            FrameEncoder,
            OscSender,
            event_messages,
            frame_numbers,
            frame_strings,
            now_s,
        )

        self._now, self._event_messages = now_s, event_messages
        self._warned = False
        self._numbers, self._strings = frame_numbers, frame_strings
        self.encoder = FrameEncoder()
        self.sender = OscSender(config.out)
        self.listener: OscListener | None = None
        if config.listen is not None:
            host, port = config.listen
            try:
                self.listener = OscListener(host, port)
            except OSError as err:
                self.sender.close()
                raise UsageError(
                    f"--osc-in: cannot listen on {host}:{port}: {err.strerror or err}"
                ) from None
            if not is_loopback(host):
                notice(f"listening for OSC cues on {host}:{port}: anyone there can cue the show")

    # -- the runner's hook (runner.Remote) ----------------------------------------------

    def send_frame(self, frame: MemoryFrame, cues: Cues) -> None:
        if self.sender.targets:
            try:
                numbers, strings = self._numbers(frame, cues), self._strings(cues)
                datagram = self.encoder.encode(numbers, strings, self._now())
            except Exception as err:  # a value OSC cannot carry: count it, never end the show
                self._unsendable(err)
            else:
                self.sender.send(datagram)

    def send_events(self, events: Sequence[Event]) -> None:
        if self.sender.targets:
            try:
                datagrams = self._event_messages(events)
            except Exception as err:
                self._unsendable(err)
            else:
                for datagram in datagrams:
                    self.sender.send(datagram)

    def _unsendable(self, err: Exception) -> None:
        self.sender.errors += 1
        if not self._warned:
            self._warned = True
            log.warning("a frame or event could not be put into OSC (%s); counted", err)

    def take(self, t_s: float) -> tuple[list[Pressed], list[Event]]:
        """The cues received since the last call, and their trace lines (at `t_s`)."""
        listener = self.listener
        if listener is None or not (listener.cues or listener.ignored):
            return [], []
        cues: list[Pressed] = []
        lines: list[Event] = []
        while listener.cues:
            got = listener.cues.popleft()
            cues.append(got.cue)
            if isinstance(got.cue, RateCue):
                action = "rate"
                value = got.cue.rate_bps if got.cue.rate_bps is not None else got.cue.factor
            else:
                action, value = got.cue.value, None
            lines.append(CueEvent(t_s, action, got.address, got.sender, value))
        while listener.ignored:
            bad = listener.ignored.popleft()
            where = f" {bad.address}" if bad.address else ""
            detail = f"OSC from {bad.sender} ignored: {bad.reason}{where}"
            lines.append(WarningEvent(t_s, "osc", detail, bad.count))
        return cues, lines

    def counters(self) -> OscCounters:
        listener = self.listener
        return OscCounters(
            sent=self.sender.sent,
            send_errors=self.sender.errors,
            cues=listener.n_cues if listener is not None else 0,
            ignored=listener.n_ignored if listener is not None else 0,
        )

    def report(self, t_s: float) -> OscReport:
        c = self.counters()
        return OscReport(t_s, c.sent, c.send_errors, c.cues, c.ignored)

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self.sender.close()
