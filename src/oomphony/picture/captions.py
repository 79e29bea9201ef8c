"""The caption area: the act's title and one plain sentence (classroom: the longer
explanation), sized for the back of a lecture hall.

`caption_pages` is pure: it decides the lines, their size and their boxes, never going
below `min_body_px` (≥ 4 % of the screen height) and never outside the caption
rectangle. Every word is shown: a title too wide for one line wraps; a body too long for
the area at the smallest size is split into pages, each with a "1/2 →" marker at its
bottom right (→, the next key, turns the page before it moves to the next act). Lines
beside a `reserve` box (the badge in the area's top-right corner) are kept clear of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pygame

from oomphony.picture import text
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette

LINE_GAP = 1.18  # line height as a multiple of the font size
NEXT_MARK = "→"  # the key that turns the page


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    px: int
    bold: bool
    rect: pygame.Rect  # where the rendered line goes
    role: str  # "title", "body" or "page" (the page marker)


Page = tuple[Line, ...]


def page_mark(n: int, of: int) -> str:
    """The marker of page `n` (1-based) of `of`: an arrow while more pages follow."""
    return f"{n}/{of} {NEXT_MARK}" if n < of else f"{n}/{of}"


def _widths(y0: int, step: int, n: int, area: pygame.Rect, reserve: pygame.Rect | None):
    """Room for each of `n` rows from `y0`: narrower where a row is beside `reserve`."""
    if reserve is None:
        return [area.w] * n
    beside = max(1, reserve.x - area.x - max(4, step // 3))
    return [beside if y0 + i * step < reserve.bottom else area.w for i in range(n)]


def _box(s: str, px: int, bold: bool = False) -> tuple[int, int]:
    """The size of a caption line as drawn (with its drop shadow)."""
    return text.size(s, px, bold=bold, shadow=True)


def _rows_fitting(y0: int, px: int, area: pygame.Rect) -> int:
    """How many lines of size `px` fit between `y0` and the area's bottom (at least 1)."""
    step = round(px * LINE_GAP)
    h = _box("Ag", px)[1]
    return max(1, (area.bottom - y0 - h) // step + 1)


def _title_lines(
    title: str, tpx: int, layout: Layout, reserve: pygame.Rect | None
) -> tuple[list[Line], int]:
    area = layout.caption
    d = text.shadow_px(tpx, bold=True)
    step0 = round(tpx * LINE_GAP)
    first = _widths(area.y, step0, 1, area, reserve)[0] - d
    tpx = text.fit_px(title, tpx, first, layout.min_body_px, bold=True)
    d = text.shadow_px(tpx, bold=True)
    step = round(tpx * LINE_GAP)
    widths = [w - d for w in _widths(area.y, step, 8, area, reserve)]
    parts = text.wrap(title, tpx, area.w - d, bold=True, first=widths)
    lines, y = [], area.y
    for s in parts:
        w, h = _box(s, tpx, True)
        lines.append(Line(s, tpx, True, pygame.Rect(area.x, y, w, h), "title"))
        y += step
    return lines, y


def _paginate(
    body: str, px: int, width: int, first: list[int], cap: int, *, sentences: bool = False
) -> list[list[str]]:
    """Body text as pages of at most `cap` wrapped lines each; with `sentences`, a page
    that is not the last ends at the end of a sentence in its second half, if any."""
    pages: list[list[str]] = []
    rest = body
    while rest.strip():
        wrapped = text.wrap(rest, px, width, first=first)
        lines, rest = wrapped[:cap], " ".join(wrapped[cap:])
        if sentences and rest:
            page = " ".join(lines)
            cut = max(page.rfind(end) for end in (". ", "? ", "! ", ": "))
            if page.endswith((".", "?", "!", ":")):
                cut = len(page) - 1
            if cut >= len(" ".join(lines[: cap // 2])):
                rest = f"{page[cut + 2 :]} {rest}".strip()
                lines = text.wrap(page[: cut + 1], px, width, first=first)
        pages.append(lines)
    return pages


def caption_pages(
    title: str,
    body: str,
    layout: Layout,
    *,
    classroom: bool = False,
    reserve: pygame.Rect | None = None,
) -> tuple[Page, ...]:
    """The caption as one or more pages; `classroom` gives the (longer) body more room
    under a smaller title. The title is repeated on every page."""
    area = layout.caption
    head: list[Line] = []
    y0 = area.y
    if title:
        tpx = round(layout.body_px * 1.15) if classroom else layout.title_px
        head, y0 = _title_lines(title, tpx, layout, reserve)
    body = " ".join(body.split())
    if not body:
        return (tuple(head),)
    px = layout.body_px
    while True:  # shrink the body to fit one page, down to the floor
        step = round(px * LINE_GAP)
        rows = _rows_fitting(y0, px, area)
        d = text.shadow_px(px)
        first = [w - d for w in _widths(y0, step, rows, area, reserve)]
        wrapped = text.wrap(body, px, area.w - d, first=first)
        if len(wrapped) <= rows:
            return (tuple(head) + _body_lines([wrapped], px, y0, area)[0],)
        if px <= layout.min_body_px:
            break
        px = max(layout.min_body_px, px - max(1, px // 12))
    # Pages: every line keeps clear of the marker at the bottom right.
    mark_w = _box(page_mark(88, 88), px)[0] + max(4, px // 2)
    width = area.w - d - mark_w
    first = [min(w, width) for w in first]
    pages = _paginate(body, px, width, first, rows)
    even = math.ceil(sum(map(len, pages)) / len(pages))
    for better in (  # as many pages, but ending with a sentence, or more evenly filled
        _paginate(body, px, width, first, rows, sentences=True),
        _paginate(body, px, width, first, even),
    ):
        if len(better) == len(pages):
            pages = better
            break
    out = []
    mark_y = y0 + (rows - 1) * step
    for i, lines in enumerate(_body_lines(pages, px, y0, area)):
        mark = page_mark(i + 1, len(pages))
        w, h = _box(mark, px)
        rect = pygame.Rect(area.right - w, mark_y, w, h)
        out.append((*head, *lines, Line(mark, px, False, rect, "page")))
    return tuple(out)


def _body_lines(pages: list[list[str]], px: int, y0: int, area: pygame.Rect) -> list[Page]:
    step = round(px * LINE_GAP)
    out = []
    for lines in pages:
        y, page = y0, []
        for s in lines:
            w, h = _box(s, px)
            page.append(Line(s, px, False, pygame.Rect(area.x, y, w, h), "body"))
            y += step
        out.append(tuple(page))
    return out


def draw_caption(surface: pygame.Surface, lines: Page, palette: Palette) -> None:
    for ln in lines:
        color = palette.text if ln.role == "body" else palette.accent
        text.draw(
            surface, ln.text, ln.px, color, ln.rect.topleft, role=ln.role, bold=ln.bold,
            shadow=True,
        )  # fmt: skip


# Unattended (kiosk, headless) a paged caption turns by itself: a slow reader's pace
# (2.5 words a second, a class reading along) plus a moment, never under PAGE_MIN_S.
PAGE_WORDS_PER_S = 2.5
PAGE_MIN_S = 6.0


class CaptionPager:
    """The caption's pages for the words and the layout now, and which one shows: new
    words start on their first page; unattended, the pages turn by themselves."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._key: tuple | None = None
        self._pages: tuple[Page, ...] = ()
        self._words: tuple[str, str] | None = None
        self.page = 0
        self.age_s = 0.0

    def invalidate(self) -> None:
        """The layout changed: lay the pages out again."""
        self._key = None

    def pages(
        self, title: str, body: str, layout: Layout, *, classroom: bool, badge: Any
    ) -> tuple[Page, ...]:
        """The pages as laid out now (each: title, body lines, page marker); `badge` (a
        picture/badge.py Badge, or None) keeps its box free."""
        key = (title, body, layout.size, classroom, badge)
        if (title, body) != self._words:  # new words start on their first page
            self._words, self.page, self.age_s = (title, body), 0, 0.0
        if key != self._key:
            self._key = key
            self._pages = caption_pages(
                title,
                body,
                layout,
                classroom=classroom,
                reserve=badge.box if badge is not None else None,
            )
            self.page = min(self.page, len(self._pages) - 1)
        return self._pages

    def turn(self, dt_s: float, pages: tuple[Page, ...], *, auto: bool) -> None:
        self.age_s += dt_s
        if not auto or len(pages) < 2:
            return
        words = sum(len(ln.text.split()) for ln in pages[self.page] if ln.role == "body")
        if self.age_s >= max(PAGE_MIN_S, words / PAGE_WORDS_PER_S + 2.0):
            self.page = (self.page + 1) % len(pages)  # unattended: round and round
            self.age_s = 0.0

    def next_page(self, n_pages: int) -> bool:
        """Turn to the next page; False on the last one."""
        if self.page + 1 < n_pages:
            self.page += 1
            self.age_s = 0.0
            return True
        return False
