"""Writing a trace line by line, flushed, so a show killed mid-run leaves a trace that
replays up to its last whole line (docs/trace-format.md)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from oomphony import __version__
from oomphony.errors import TraceError
from oomphony.frame import Event, MemoryFrame
from oomphony.trace.format import TRACE_VERSION, event_to_dict, frame_to_dict, host_info


class TraceWriter:
    """Opened at once, so an unwritable path fails before the show starts. The header is
    written with the first line, once the cage (known only after it is made) is set;
    `setlist` and `options` are set by whoever assembles the run, before that."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._fh: IO[str] | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as err:
            raise TraceError(f"cannot write trace {self.path}: {err.strerror}") from err
        self.cage: dict[str, Any] | None = None
        self.setlist: dict[str, str] | None = None
        self.options: dict[str, Any] = {}
        self.protections: dict[str, Any] | None = None  # --global only (show/shield.py)
        self._started = datetime.now(UTC).isoformat(timespec="seconds")
        self._header_done = False

    def _line(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            return
        if not self._header_done:
            self._header_done = True
            header = {
                "oomphony_trace": TRACE_VERSION,
                "started": self._started,
                "host": host_info(),
                "cage": self.cage,
                "oomphony": __version__,
                "setlist": self.setlist,
                "options": self.options,
            }
            if self.protections is not None:
                header["protections"] = self.protections
            self._fh.write(json.dumps(header, separators=(",", ":")) + "\n")
        self._fh.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._fh.flush()

    def describe_source(self, kind: str, cage: dict[str, Any] | None) -> None:
        """Each show: the backend that really runs ("auto" resolved); the cage once."""
        self.options["backend"] = kind
        if self.cage is None:
            self.cage = cage

    def frame(self, frame: MemoryFrame) -> None:
        self._line(frame_to_dict(frame))

    def event(self, ev: Event) -> None:
        self._line(event_to_dict(ev))

    def close(self) -> None:
        if self._fh is not None and not self._header_done:
            self._line({"t": 0.0, "event": "end", "reason": "nothing recorded"})
        if self._fh is not None:
            self._fh.close()
            self._fh = None
