"""Fonts and cached text rendering.

DejaVu (Debian fonts-dejavu-core) is looked up by path; pygame's built-in default font is
the fallback. Rendered text surfaces are cached by (text, size, colour, style), since
the same labels are drawn every frame; the cache forgets its least recently drawn entry
when full, so what every frame draws is never rendered again. `draw` renders and blits in
one call (or, with `upto`, only the first characters: typing reveals a line rendered
once) and, inside `recording()`, notes what it drew where (tests read the words on screen
from it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygame

log = logging.getLogger(__name__)

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_FILES = {
    (False, False): "DejaVuSans.ttf",
    (True, False): "DejaVuSans-Bold.ttf",
    (False, True): "DejaVuSansMono.ttf",
    (True, True): "DejaVuSansMono-Bold.ttf",
}
_CACHE_MAX = 600  # a show draws about 60 labels a frame; changing figures use glyphs.py
_text_cache: dict[tuple, pygame.Surface] = {}
_warned: set[str] = set()


@dataclass(frozen=True, slots=True)
class Drawn:
    """One piece of text put on a surface: its words, its box (unclipped), its size."""

    text: str
    rect: pygame.Rect
    px: int
    role: str  # what it is: "title", "body", "page", "badge", "kernel", …


_recording: list[list[Drawn]] = []


@contextmanager
def recording() -> Iterator[list[Drawn]]:
    """Collect every `draw` made inside the block, in order."""
    drawn: list[Drawn] = []
    _recording.append(drawn)
    try:
        yield drawn
    finally:
        _recording.remove(drawn)


def ensure_init() -> None:
    if not pygame.font.get_init():
        pygame.font.init()


@functools.cache
def font_path(bold: bool, mono: bool) -> Path | None:
    name = _FILES[(bold, mono)]
    for d in FONT_DIRS:
        p = d / name
        if p.is_file():
            return p
    if "dejavu" not in _warned:
        _warned.add("dejavu")
        log.warning("DejaVu fonts not found (Debian fonts-dejavu-core); using pygame's default")
    return None


@functools.lru_cache(maxsize=128)
def font(px: int, *, bold: bool = False, mono: bool = False) -> pygame.font.Font:
    """A font whose line height is about `px` pixels."""
    ensure_init()
    px = max(6, int(px))
    path = font_path(bold, mono)
    if path is not None:
        try:
            return pygame.font.Font(path, px)
        except (OSError, pygame.error) as err:
            if "load" not in _warned:
                _warned.add("load")
                log.warning("could not load %s (%s); using pygame's default font", path, err)
    f = pygame.font.Font(None, round(px * 1.35))  # the default font runs small
    f.set_bold(bold)
    return f


def render(
    text: str,
    px: int,
    color: tuple[int, int, int],
    *,
    bold: bool = False,
    mono: bool = False,
    shadow: bool = False,
) -> pygame.Surface:
    """Anti-aliased text, cached; `shadow` adds a dark drop shadow (reads over bright
    bars and noise)."""
    key = (text, int(px), color, bold, mono, shadow)
    surf = _text_cache.pop(key, None)  # re-inserted below: the newest end of the LRU
    if surf is None:
        if len(_text_cache) >= _CACHE_MAX:
            del _text_cache[next(iter(_text_cache))]  # the least recently drawn
        surf = font(px, bold=bold, mono=mono).render(text, True, color)
        if shadow:
            d = shadow_px(px, bold=bold, mono=mono)
            dark = font(px, bold=bold, mono=mono).render(text, True, (0, 0, 0))
            both = pygame.Surface((surf.get_width() + d, surf.get_height() + d), pygame.SRCALPHA)
            both.blit(dark, (d, d))
            both.blit(surf, (0, 0))
            surf = both
    _text_cache[key] = surf
    return surf


def draw(
    surface: pygame.Surface,
    text: str,
    px: int,
    color: tuple[int, int, int],
    pos: tuple[int, int],
    *,
    role: str = "",
    bold: bool = False,
    mono: bool = False,
    shadow: bool = False,
    upto: int | None = None,
) -> pygame.Rect:
    """Render `text` and blit it with its top-left at `pos`; returns its box. With `upto`,
    only its first `upto` characters are shown (cut from the whole line's render)."""
    surf = render(text, px, color, bold=bold, mono=mono, shadow=shadow)
    rect = pygame.Rect(pos, surf.get_size())
    if upto is not None and upto < len(text):
        text = text[: max(0, upto)]
        rect.w = min(rect.w, font(px, bold=bold, mono=mono).size(text)[0]) if text else 0
        surface.blit(surf, rect, pygame.Rect(0, 0, rect.w, rect.h))
    else:
        surface.blit(surf, rect)
    for drawn in _recording:
        drawn.append(Drawn(text, rect, int(px), role))
    return rect


def shadow_px(px: int, *, bold: bool = False, mono: bool = False) -> int:
    """How far a drop shadow reaches right of and below the text."""
    return max(1, font(px, bold=bold, mono=mono).get_height() // 14)


def size(
    text: str, px: int, *, bold: bool = False, mono: bool = False, shadow: bool = False
) -> tuple[int, int]:
    """The size `render` gives `text` (with its shadow, if any)."""
    w, h = font(px, bold=bold, mono=mono).size(text)
    d = shadow_px(px, bold=bold, mono=mono) if shadow else 0
    return w + d, h + d


def text_width(text: str, px: int, *, bold: bool = False, mono: bool = False) -> int:
    return font(px, bold=bold, mono=mono).size(text)[0]


def wrap(
    text: str,
    px: int,
    width: int,
    *,
    bold: bool = False,
    mono: bool = False,
    first: Sequence[int] = (),
) -> list[str]:
    """Greedy word wrap to `width` pixels (the first lines to the widths in `first`, e.g.
    beside a badge); a word longer than a line is split by characters, never dropped."""
    f = font(px, bold=bold, mono=mono)
    lines: list[str] = []

    def room() -> int:
        return first[len(lines)] if len(lines) < len(first) else width

    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            cand = word if not line else f"{line} {word}"
            if f.size(cand)[0] <= room():
                line = cand
                continue
            if line:
                lines.append(line)
            line = word
            while f.size(line)[0] > room() and len(line) > 1:
                cut = len(line)
                while cut > 1 and f.size(line[:cut])[0] > room():
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def fit_px(
    text: str, px: int, width: int, min_px: int, *, bold: bool = False, mono: bool = False
) -> int:
    """The largest size from `px` down to `min_px` at which `text` is at most `width` wide
    (`min_px` when even that is too wide: the caller wraps)."""
    px = max(int(px), int(min_px))
    while px > min_px and text_width(text, px, bold=bold, mono=mono) > width:
        px = max(int(min_px), px - max(1, px // 12))
    return px


def ellipsize(text: str, px: int, width: int, *, bold: bool = False) -> str:
    f = font(px, bold=bold)
    if f.size(text)[0] <= width:
        return text
    while text and f.size(text + "…")[0] > width:
        text = text[:-1]
    return text.rstrip() + "…"
