"""The kill screen: a flash, the kernel's own line typed out terminal-style, then an
obituary (name, pid, peak memory, time to kill, swap reached).

`kill_screen_layout` is pure: it decides every line and box from the cues, the
obituary and the time since the kill; `draw_kill_screen` only paints that.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from oomphony.cues import Cues
from oomphony.picture import text
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette
from oomphony.units import format_size

FLASH_S = 0.35  # white flash, fading
TYPE_DELAY_S = 0.45  # the typing starts after the flash
TYPE_CPS = 110.0  # characters per second: a fast terminal
NO_LINE = "killed by the kernel"


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


def kernel_text(cues: Cues) -> str:
    """The line to type: the kernel's own words, or a plain statement when unread."""
    if cues.manual_kill and cues.kill is None:
        return "SIGKILL sent by the presenter (K key): a manual kill, not the OOM killer"
    if cues.kill is not None and cues.kill.kernel_line:
        return cues.kill.kernel_line.strip()
    return NO_LINE


def obituary_lines(ob: Obituary) -> tuple[str, ...]:
    ttk = "—" if ob.time_to_kill_s is None else f"{ob.time_to_kill_s:.1f} s"
    pid = "?" if ob.pid is None else str(ob.pid)
    return (
        f"{ob.name or 'the allocator'}   pid {pid}",
        f"peak memory    {format_size(ob.peak_b)}",
        f"time to kill   {ttk}",
        f"swap reached   {format_size(ob.swap_b)}",
    )


def kill_screen_layout(
    cues: Cues, ob: Obituary, age_s: float, layout: Layout
) -> tuple[tuple[KLine, ...], int]:
    """All lines of the kill screen and how many characters of the kernel line are typed
    by `age_s` seconds after the kill. Lines of role 'kernel' hold the whole text."""
    w, h = layout.size
    m = layout.margin * 2
    width = w - 2 * m
    manual = cues.manual_kill and cues.kill is None
    head = "KILLED BY HAND" if manual else "OUT OF MEMORY"
    sub = "not an OOM kill" if manual else "the kernel killed the hog"
    hpx = round(layout.title_px * 1.35)
    lines: list[KLine] = []
    y = round(0.07 * h)
    head = text.ellipsize(head, hpx, width, bold=True)
    lines.append(
        KLine(
            head,
            hpx,
            pygame.Rect(m, y, *text.font(hpx, bold=True).size(head)),
            "headline",
            bold=True,
        )
    )
    y += round(hpx * 1.1)
    spx = layout.body_px
    lines.append(KLine(sub, spx, pygame.Rect(m, y, *text.font(spx).size(sub)), "sub"))
    y += round(spx * 1.6)
    kpx = max(layout.min_body_px - 4, round(0.034 * h))
    if manual:
        prompt = "$ kill -9 <the hog>"
    elif cues.kill is not None and cues.kill.kernel_line:
        prompt = "$ dmesg | tail -1"
    else:
        prompt = "(the kernel's log could not be read)"
    lines.append(
        KLine(
            prompt,
            kpx,
            pygame.Rect(m, y, *text.font(kpx, mono=True).size(prompt)),
            "prompt",
            mono=True,
        )
    )
    y += round(kpx * 1.3)
    f = text.font(kpx, mono=True)
    for part in text.wrap(kernel_text(cues), kpx, width, mono=True):
        lines.append(KLine(part, kpx, pygame.Rect(m, y, *f.size(part)), "kernel", mono=True))
        y += round(kpx * 1.2)
    y += round(kpx * 0.8)
    opx = layout.body_px
    fo = text.font(opx, bold=True, mono=True)
    for s in obituary_lines(ob):
        s = text.ellipsize(s, opx, width, bold=True)
        if y + fo.get_height() > h - layout.margin:
            break
        lines.append(KLine(s, opx, pygame.Rect(m, y, *fo.size(s)), "obit", mono=True, bold=True))
        y += round(opx * 1.25)
    return tuple(lines), typed_chars(tuple(lines), age_s)


def typed_chars(lines: tuple[KLine, ...], age_s: float) -> int:
    """How many characters of the kernel line are typed `age_s` seconds after the kill."""
    total = sum(len(ln.text) for ln in lines if ln.role == "kernel")
    return min(total, int(max(0.0, age_s - TYPE_DELAY_S) * TYPE_CPS))


def draw_kill_screen(
    surface: pygame.Surface,
    lines: tuple[KLine, ...],
    typed: int,
    age_s: float,
    palette: Palette,
) -> None:
    total = sum(len(ln.text) for ln in lines if ln.role == "kernel")
    done = typed >= total
    left = typed
    cursor_drawn = False
    for ln in lines:
        if ln.role == "kernel":
            n = min(len(ln.text), max(0, left))
            left -= len(ln.text)
            shown = ln.text[:n]
            if shown:
                surface.blit(
                    text.render(shown, ln.px, palette.terminal, mono=True), ln.rect.topleft
                )
            if not done and not cursor_drawn and n < len(ln.text):
                cursor_drawn = True
                if int(age_s * 4) % 2 == 0 or n > 0:
                    cw = text.font(ln.px, mono=True).size(shown)[0]
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
        surf = text.render(ln.text, ln.px, color, bold=ln.bold, mono=ln.mono)
        surface.blit(surf, ln.rect.topleft)
    if age_s < FLASH_S:
        v = round(255 * (1.0 - age_s / FLASH_S))
        surface.fill((v, v, v), special_flags=pygame.BLEND_RGB_ADD)
