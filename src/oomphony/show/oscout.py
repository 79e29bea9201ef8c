"""OSC out: the show's state as Open Sound Control, one value per address (docs/osc.md).

`frame_numbers` and `frame_strings` are pure functions of (frame, cues): the values of
the frame addresses, from the frame's own derived values (`MemoryFrame.limit_b`,
`cache_b`, `swap_b`, `used_b`, the ones the picture and the sound read). `FrameEncoder`
packs them into one OSC bundle per frame, timetagged; `event_messages` turns act and kill
events into messages of their own. `OscSender` sends datagrams on non-blocking,
connected UDP sockets: a full buffer or an unreachable receiver costs one failed `send`,
counted, never a wait.

The bundle is packed in one `struct` call whose fields are the elements' headers
(address and type tags, from python-osc's `osc_types.write_string`, built once) and the
values: python-osc's message and bundle builders infer types and re-parse what they
build, 370 µs for a 20-value bundle against a few µs this way (measured on the 2-core
test machine; perf/bench_osc.py measures the whole cost per tick). python-osc's parser
reads these bundles back in tests/test_osc.py.
"""

from __future__ import annotations

import logging
import math
import operator
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from functools import partial

from pythonosc.parsing import osc_types

from oomphony.cues import Cues
from oomphony.frame import ActEvent, AllocatorExit, Event, MemoryFrame, OomKill

log = logging.getLogger(__name__)

BUNDLE_HEAD = b"#bundle\x00"

# The frame's numeric addresses and their OSC types, in the order a bundle carries them.
# The fractions are of the cage (its memory limit; `swap` of the swap it may use); a
# rate's 0–1 value is the fraction of the cage it moves per second, capped at 1.
FRAME_NUMBERS: tuple[tuple[str, str], ...] = (
    ("/oomphony/t", "f"),
    ("/oomphony/usage", "f"),
    ("/oomphony/cache", "f"),
    ("/oomphony/anon", "f"),
    ("/oomphony/swap", "f"),
    ("/oomphony/psi/some", "f"),
    ("/oomphony/psi/full", "f"),
    ("/oomphony/alloc/rate", "f"),
    ("/oomphony/alloc/rate_bps", "f"),
    ("/oomphony/swapout/rate", "f"),
    ("/oomphony/swapout/rate_bps", "f"),
    ("/oomphony/swapin/rate", "f"),
    ("/oomphony/swapin/rate_bps", "f"),
    ("/oomphony/act/index", "i"),
    ("/oomphony/paused", "i"),
    ("/oomphony/alive", "i"),
)
FRAME_STRINGS: tuple[str, ...] = ("/oomphony/act", "/oomphony/act/kind")
FRAME_ADDRESSES = (*(a for a, _ in FRAME_NUMBERS), *FRAME_STRINGS)
# The events' addresses and their argument types (OSC type tags).
EVENT_TYPES: dict[str, str] = {
    "/oomphony/event/act": "ssif",  # name, kind, recognised (0/1), t
    "/oomphony/event/oom_kill": "isif",  # pid (-1: unknown), comm, anon-rss KiB (-1), t
    "/oomphony/event/allocator_exit": "isf",  # pid (-1: unknown), how, t
}

Number = float | int | None


def _unit(x: float) -> float:
    return 0.0 if not x > 0.0 else (1.0 if x > 1.0 else x)  # NaN → 0


def frame_numbers(frame: MemoryFrame, cues: Cues) -> tuple[Number, ...]:
    """The values of FRAME_NUMBERS, in order; None where the frame has no value (the
    trace's `null`): that address is left out of the bundle."""
    limit = frame.limit_b or 1
    swap_limit = frame.swap_limit_b
    cage, alloc, rates, psi = frame.cage, frame.alloc, frame.rates, frame.psi
    anon = cage.anon_b if cage is not None else frame.machine.anon_b
    alive = alloc.alive
    alloc_bps = alloc.rate_bps if alive else 0.0
    out_bps, in_bps = rates.swapout_bps, rates.swapin_bps
    if out_bps is not None and not math.isfinite(out_bps):
        out_bps = None
    if in_bps is not None and not math.isfinite(in_bps):
        in_bps = None
    return (
        frame.t_s,
        _unit(frame.used_b / limit),
        _unit(frame.cache_b / limit),
        _unit(anon / limit) if anon is not None else None,
        _unit(frame.swap_b / swap_limit) if swap_limit > 0 else 0.0,
        psi.some,
        psi.full,
        _unit(alloc_bps / limit),
        alloc_bps,
        _unit(out_bps / limit) if out_bps is not None else None,
        out_bps,
        _unit(in_bps / limit) if in_bps is not None else None,
        in_bps,
        cues.act_index,
        1 if cues.paused else 0,
        1 if alive else 0,
    )


def frame_strings(cues: Cues) -> tuple[str, str]:
    """The values of FRAME_STRINGS: the act's name and kind."""
    return cues.act_name, cues.act.value


def _header(address: str, types: str) -> bytes:
    return osc_types.write_string(address) + osc_types.write_string("," + types)


_is_none = partial(operator.is_, None)


class FrameEncoder:
    """One OSC bundle per frame, packed by one `struct.Struct` per set of values present
    (in practice two: the first frame's, without rates, and every other frame's). The
    strings (the act's name and kind) are re-encoded only when they change."""

    def __init__(self) -> None:
        self._heads = [_header(a, t) for a, t in FRAME_NUMBERS]
        self._types = [t for _, t in FRAME_NUMBERS]
        self._packers: dict[tuple[bool, ...], tuple[struct.Struct, list[object]]] = {}
        self._strings: dict[tuple[str, ...], bytes] = {}
        self._all_present = (False,) * len(FRAME_NUMBERS)

    def _packer(self, absent: tuple[bool, ...]) -> tuple[struct.Struct, list[object]]:
        """The struct and its argument template (heads in place, values to fill) for the
        values present."""
        fmt, template = [">8s8s"], [BUNDLE_HEAD, b""]
        for head, typ, gone in zip(self._heads, self._types, absent, strict=True):
            if not gone:
                fmt.append(f"i{len(head)}s{typ}")
                template += [len(head) + 4, head, 0]
        packer = (struct.Struct("".join(fmt)), template)
        self._packers[absent] = packer
        return packer

    def _tail(self, strings: tuple[str, ...]) -> bytes:
        """The string elements, encoded once per distinct act."""
        tail = b""
        for address, value in zip(FRAME_STRINGS, strings, strict=True):
            msg = _header(address, "s") + osc_types.write_string(value)
            tail += osc_types.write_int(len(msg)) + msg
        if len(self._strings) > 64:  # a long kiosk run: acts repeat, names do not pile up
            self._strings.clear()
        self._strings[strings] = tail
        return tail

    def encode(self, numbers: Sequence[Number], strings: tuple[str, ...], wall_s: float) -> bytes:
        """The bundle, timetagged `wall_s` (seconds since the epoch, as time.time())."""
        if None in numbers:
            absent = tuple(map(_is_none, numbers))
            values: Sequence[Number] = [v for v in numbers if v is not None]
        else:
            absent, values = self._all_present, numbers
        packer, template = self._packers.get(absent) or self._packer(absent)
        args = template.copy()
        args[1] = osc_types.write_date(wall_s)
        args[4::3] = values
        return packer.pack(*args) + (self._strings.get(strings) or self._tail(strings))


def message(address: str, types: str, args: Sequence[float | int | str]) -> bytes:
    """One OSC message (types: "f", "i" or "s" per argument)."""
    writers = {"f": osc_types.write_float, "i": osc_types.write_int, "s": osc_types.write_string}
    body = b"".join(writers[t](a) for t, a in zip(types, args, strict=True))  # type: ignore[operator]
    return osc_types.write_string(address) + osc_types.write_string("," + types) + body


def event_messages(events: Iterable[Event]) -> list[bytes]:
    """The act, kill and allocator-exit events as messages of their own."""
    out: list[bytes] = []
    for ev in events:
        if isinstance(ev, ActEvent):
            args: list[float | int | str] = [ev.name, ev.kind, int(ev.recognised), ev.t_s]
            address = "/oomphony/event/act"
        elif isinstance(ev, OomKill):
            kib = ev.anon_rss_b // 1024 if ev.anon_rss_b is not None else -1
            pid = ev.pid if ev.pid is not None else -1
            args, address = [pid, ev.comm or "", kib, ev.t_s], "/oomphony/event/oom_kill"
        elif isinstance(ev, AllocatorExit):
            pid = ev.pid if ev.pid is not None else -1
            args, address = [pid, ev.how, ev.t_s], "/oomphony/event/allocator_exit"
        else:
            continue
        out.append(message(address, EVENT_TYPES[address], args))
    return out


class OscSender:
    """Datagrams to one or more receivers, never blocking. `sent` and `errors` count
    datagrams over all targets."""

    def __init__(self, targets: Sequence[tuple[str, int]]) -> None:
        self.targets: list[tuple[socket.socket, tuple[str, int]]] = []
        self.sent = 0
        self.errors = 0
        self._warned: set[str] = set()
        try:
            for host, port in targets:
                family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
                sock = socket.socket(family, socket.SOCK_DGRAM)
                self.targets.append((sock, addr[:2]))
                sock.setblocking(False)
                sock.connect(addr)  # a connected socket: no route lookup per datagram
        except (OSError, socket.gaierror):
            self.close()
            raise

    def send(self, datagram: bytes) -> None:
        for sock, addr in self.targets:
            try:
                sock.send(datagram)
            except OSError as err:  # BlockingIOError (full), ECONNREFUSED (gone), …
                self.errors += 1
                kind = type(err).__name__
                if kind not in self._warned:
                    self._warned.add(kind)
                    log.warning("OSC to %s:%s failed (%s); counting, not waiting", *addr, err)
            else:
                self.sent += 1

    def close(self) -> None:
        for sock, _ in self.targets:
            sock.close()
        self.targets = []


def now_s() -> float:
    """The bundles' timetag clock (OSC time tags are wall-clock, NTP)."""
    return time.time()
