"""The kill screen: a flash, the kernel's own line typed out terminal-style, then an
obituary (name, pid, peak memory, time to kill, swap reached).

Honest words: a live kill types the kernel's line under a `dmesg` prompt (or says the
log could not be read); a replay says the line was recorded, where and when; a simulated
kill shows the line the kernel *would* print, with no pid (the simulator's pid is made
up), never under a shell prompt.

`kill_screen_layout` is pure: it decides every line and box from the cues, the origin,
the obituary and the time since the kill; `draw_kill_screen` only paints that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pygame

from oomphony.cues import Cues
from oomphony.picture import text
from oomphony.picture.badge import recorded_when
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette
from oomphony.sources.base import Origin
from oomphony.support.demo import kill_cues
from oomphony.units import format_size

FLASH_S = 0.35  # white flash, fading
TYPE_DELAY_S = 0.45  # the typing starts after the flash
TYPE_CPS = 110.0  # characters per second: a fast terminal
NO_LINE = "killed by the kernel"
LIVE = Origin("live")
_KILLED_PID = re.compile(r"(Killed process )\d+")


@dataclass(frozen=True, slots=True)
class Obituary:
    name: str | None
    pid: int | None
    peak_b: int | None
    time_to_kill_s: float | None
    swap_b: int | None


@dataclass(frozen=True, slots=True)
class KLine:
    text: str
    px: int
    rect: pygame.Rect
    role: str  # headline, sub, prompt, kernel, obit
    mono: bool = False
    bold: bool = False


def simulated_kill(cues: Cues, origin: Origin) -> bool:
    """The simulator, not a kernel, decided this kill (a sim show, or a replay of one)."""
    if cues.kill is not None:
        return cues.kill.source == "sim" or origin.simulated
    return origin.simulated


def kernel_text(cues: Cues, origin: Origin = LIVE) -> str:
    """The line to type: the kernel's own words, or a plain statement when unread. A
    simulated kill shows the line the kernel would print, without the invented pid."""
    if cues.manual_kill and cues.kill is None:
        if simulated_kill(cues, origin):
            return "the presenter pressed K: the simulated allocator stops, no signal is sent"
        return "SIGKILL sent by the presenter (K key): a manual kill, not the OOM killer"
    if cues.kill is not None and cues.kill.kernel_line:
        line = cues.kill.kernel_line.strip()
        if simulated_kill(cues, origin):
            line = _KILLED_PID.sub(r"\1<pid>", line)
        return line
    return NO_LINE


def _words(cues: Cues, origin: Origin) -> tuple[str, str, str]:
    """Headline, the line under it, and the line that introduces the kernel's words."""
    if cues.manual_kill and cues.kill is None:
        if simulated_kill(cues, origin):
            return "KILLED BY HAND", "not an OOM kill (simulated)", "the presenter's K key:"
        return "KILLED BY HAND", "not an OOM kill", "$ kill -9 <the hog>"
    if simulated_kill(cues, origin):
        return (
            "OUT OF MEMORY",
            "simulated: here the kernel would kill the hog",
            "what the kernel would print (not read from a kernel log):",
        )
    if cues.kill is None or not cues.kill.kernel_line:
        return "OUT OF MEMORY", "the kernel killed the hog", "(the kernel's log could not be read)"
    if origin.kind == "replay":
        when = recorded_when(origin.recorded) if origin.recorded else ""
        at = ", ".join(s for s in (origin.host, when) if s)
        return (
            "OUT OF MEMORY",
            "the kernel killed the hog (recorded)",
            f"the kernel's line, recorded{' on ' + at if at else ''}:",
        )
    return "OUT OF MEMORY", "the kernel killed the hog", "$ dmesg | tail -1"


def obituary_lines(ob: Obituary, *, simulated: bool = False) -> tuple[str, ...]:
    ttk = "—" if ob.time_to_kill_s is None else f"{ob.time_to_kill_s:.1f} s"
    name = f"{ob.name or 'the allocator':<14} "  # the pid in the figures' column
    if simulated:
        who = f"{name}simulated, no real pid"
    else:
        who = f"{name}pid {'?' if ob.pid is None else ob.pid}"
    return (
        who,
        f"peak memory    {format_size(ob.peak_b)}",
        f"time to kill   {ttk}",
        f"swap reached   {format_size(ob.swap_b)}",
    )


def kill_screen_layout(
    cues: Cues,
    ob: Obituary,
    age_s: float,
    layout: Layout,
    origin: Origin = LIVE,
    bottom: int | None = None,
) -> tuple[tuple[KLine, ...], int]:
    """All lines of the kill screen and how many characters of the kernel line are typed
    by `age_s` seconds after the kill. Lines of role 'kernel' hold the whole text. The
    screen ends above `bottom` (default: the screen's margin): it shrinks, never cuts."""
    h = layout.size[1]
    bottom = h - layout.margin if bottom is None else bottom
    scale = 1.0
    while True:
        lines, end = _kill_lines(cues, ob, layout, origin, scale)
        if end <= bottom or scale < 0.3:
            return lines, typed_chars(lines, age_s)
        scale *= 0.9


def _kill_lines(
    cues: Cues, ob: Obituary, layout: Layout, origin: Origin, scale: float
) -> tuple[tuple[KLine, ...], int]:
    w, h = layout.size
    m = layout.margin * 2
    width = w - 2 * m
    head, sub, prompt = _words(cues, origin)
    lines: list[KLine] = []
    y = round(0.07 * h * scale)

    def add(s: str, px: int, role: str, *, mono: bool = False, bold: bool = False) -> None:
        """Wrapped lines of `s`; a short line shrinks (to 2/3) before it wraps."""
        nonlocal y
        if role != "kernel":
            px = text.fit_px(s, px, width, max(6, px * 2 // 3), bold=bold, mono=mono)
        f = text.font(px, bold=bold, mono=mono)
        for part in text.wrap(s, px, width, bold=bold, mono=mono):
            lines.append(KLine(part, px, pygame.Rect(m, y, *f.size(part)), role, mono, bold))
            y += round(px * (1.2 if role == "kernel" else 1.1))

    hpx = round(layout.title_px * 1.35 * scale)
    add(head, hpx, "headline", bold=True)
    spx = max(8, round(layout.body_px * scale))
    add(sub, spx, "sub")
    y += round(spx * 0.5)
    kpx = max(8, round(max(layout.min_body_px - 4, 0.034 * h) * scale))
    add(prompt, kpx, "prompt", mono=True)
    y += round(kpx * 0.2)
    add(kernel_text(cues, origin), kpx, "kernel", mono=True)
    y += round(kpx * 0.8)
    opx = max(8, round(layout.body_px * scale))
    for s in obituary_lines(ob, simulated=simulated_kill(cues, origin)):
        add(s, opx, "obit", mono=True, bold=True)
        y += round(opx * 0.15)
    return tuple(lines), max(ln.rect.bottom for ln in lines)


def kernel_chars(lines: tuple[KLine, ...]) -> int:
    """Characters of the kernel's line to type, all its wrapped lines together."""
    return sum(len(ln.text) for ln in lines if ln.role == "kernel")


def typed_chars(lines: tuple[KLine, ...], age_s: float) -> int:
    """How many characters of the kernel line are typed `age_s` seconds after the kill."""
    return min(kernel_chars(lines), int(max(0.0, age_s - TYPE_DELAY_S) * TYPE_CPS))


def draw_kill_screen(
    surface: pygame.Surface,
    lines: tuple[KLine, ...],
    typed: int,
    age_s: float,
    palette: Palette,
) -> None:
    done = typed >= kernel_chars(lines)
    left = typed
    cursor_drawn = False
    for ln in lines:
        if ln.role == "kernel":
            n = min(len(ln.text), max(0, left))
            left -= len(ln.text)
            cw = 0
            if n > 0:  # the whole line rendered once, revealed as it is typed
                cw = text.draw(
                    surface, ln.text, ln.px, palette.terminal, ln.rect.topleft, role="kernel",
                    mono=True, upto=n,
                ).w  # fmt: skip
            if not done and not cursor_drawn and n < len(ln.text):
                cursor_drawn = True
                if int(age_s * 4) % 2 == 0 or n > 0:
                    pygame.draw.rect(
                        surface,
                        palette.terminal,
                        (ln.rect.x + cw, ln.rect.y, max(2, ln.px // 2), ln.rect.h),
                    )
            continue
        if ln.role == "obit" and not done:
            continue
        color = {
            "headline": palette.danger,
            "sub": palette.text,
            "prompt": palette.text_dim,
            "obit": palette.text,
        }[ln.role]
        text.draw(
            surface, ln.text, ln.px, color, ln.rect.topleft, role=ln.role, bold=ln.bold,
            mono=ln.mono,
        )  # fmt: skip
    if age_s < FLASH_S:
        v = round(255 * (1.0 - age_s / FLASH_S))
        surface.fill((v, v, v), special_flags=pygame.BLEND_RGB_ADD)


class KillScreen:
    """One kill's screen: laid out once per kill, size and origin (the layout fits it
    above the caption), then typed out frame by frame."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self.lines: tuple[KLine, ...] = ()

    def draw(
        self,
        surface: pygame.Surface,
        key: tuple,
        cues: Cues,
        ob: Obituary,
        age_s: float,
        layout: Layout,
        origin: Origin,
        palette: Palette,
    ) -> bool:
        """Draw the screen `age_s` seconds after the kill; True once the kernel's line is
        typed (the act's words then go under it). `key` names the kill and its look."""
        if key != self._key:
            self._key = key
            bottom = layout.caption.y - layout.margin
            self.lines = kill_screen_layout(cues, ob, 0.0, layout, origin, bottom)[0]
        typed = typed_chars(self.lines, age_s)
        draw_kill_screen(surface, self.lines, typed, age_s, palette)
        return typed >= kernel_chars(self.lines)

    @staticmethod
    def warm(layout: Layout, palette: Palette) -> None:
        """Draw a kill screen once, off-screen, at this size: its fonts are loaded and its
        fixed lines rendered before a real kill needs them (measured at 1080p: the first
        kill-screen frame took 4–5 ms of CPU time cold, about 2 ms warm)."""
        ob = Obituary("python", 1, 0, 0.0, 0)
        lines, _ = kill_screen_layout(kill_cues(0.0, 1), ob, 0.0, layout)
        draw_kill_screen(pygame.Surface((1, 1)), lines, 0, 0.0, palette)
