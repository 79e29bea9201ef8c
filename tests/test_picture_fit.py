"""Every word reaches the room: every act of every bundled setlist (found at run time, so
a new setlist is checked too), drawn at a projector's 1024×768, 1280×800, 1920×1080 and
3840×2160 with the SDL dummy driver, with and without a badge. No text is cut: no
ellipsis, every line inside the screen and its area, the body never under 4 % of the
height, and the words drawn over all pages of a caption are exactly the act's words. A
caption too long for one screen pages with the next key, with a "1/2 →" marker."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pygame
import pytest
from test_picture_labels import SHIPPED, draw, settle

from oomphony.commands import Action
from oomphony.cues import Act, Cues, Status
from oomphony.frame import OomKill
from oomphony.picture import Display, Stage, text
from oomphony.picture.captions import page_mark
from oomphony.picture.palette import get_palette
from oomphony.picture.view import View
from oomphony.show.library import bundled_names, load_setlist
from oomphony.sources.base import Origin
from oomphony.sources.replay import ReplaySource
from oomphony.support.demo import KERNEL_LINE, caged_frame
from oomphony.units import MiB

SIZES = [(1024, 768), (1280, 800), (1920, 1080), (3840, 2160)]
CAPTION_ROLES = ("title", "body", "page")
KILL_ROLES = ("headline", "sub", "prompt", "kernel", "obit")
ATTRACT = Cues(
    t_s=0.0,
    act=Act.ATTRACT,
    title="oomphony",
    caption="The Linux memory manager, performed live. The next show starts soon.",
)


def acts_of_every_setlist() -> list[tuple[str, str, Cues]]:
    """(setlist, preset, cues) for every act of every bundled setlist, as the director
    makes them, plus the kiosk's attract screen."""
    out = [("kiosk", "stage", ATTRACT)]
    for name in bundled_names():
        sl = load_setlist(name)
        for a in sl.acts:
            cues = Cues(
                t_s=1.0,
                act=a.kind,
                act_name=a.name,
                title=a.title,
                caption=a.caption,
                explanation=a.explanation,
                picture_preset=a.picture_preset or sl.picture_preset,
            )
            out.append((name, sl.picture_preset, cues))
    return out


ACTS = acts_of_every_setlist()
ORIGINS = {
    "live": Origin("live"),
    "sim": Origin("sim", simulated=True),
    "replay": ReplaySource(SHIPPED).origin,  # the widest badge: three lines
}


def show_act(stage: Stage, cues: Cues) -> None:
    """Bring the stage to the act: the kill act on the kill screen, its line typed."""
    if cues.act is not Act.KILL:
        settle(stage, caged_frame(1.0, cache_b=80 * MiB, alloc_b=120 * MiB), cues, 0.3)
        return
    settle(stage, caged_frame(0.5, alloc_b=200 * MiB), Cues(t_s=0.5, act=Act.SWAP), 0.3)
    kill = OomKill(1.0, 4242, "python", 255 * MiB, "cgroup-eventfd", KERNEL_LINE.format(pid=4242))
    settle(stage, caged_frame(1.0, alive=False), Cues(**{**_fields(cues), "kill": kill}), 4.0)
    assert stage.kill_screen_active()


def _fields(cues: Cues) -> dict:
    return {f: getattr(cues, f) for f in cues.__slots__}


def check_page(stage: Stage, surf: pygame.Surface, drawn: list[text.Drawn], where: str) -> None:
    screen = surf.get_rect()
    lay = stage.layout
    badge = stage.badge()
    for d in drawn:
        assert "…" not in d.text, f"{where}: cut text {d.text!r}"
        if d.role in (*CAPTION_ROLES, *KILL_ROLES, "badge"):
            assert screen.contains(d.rect), f"{where}: {d.text!r} off the screen at {d.rect}"
    caption = [d for d in drawn if d.role in CAPTION_ROLES]
    for d in caption:
        assert lay.caption.contains(d.rect), f"{where}: {d.text!r} outside the caption"
        assert badge is None or not badge.box.colliderect(d.rect), f"{where}: under the badge"
        if d.role == "body":
            assert d.px >= 0.04 * stage.size[1], f"{where}: {d.text!r} at {d.px}px"
    for i, a in enumerate(caption):  # no two lines overlap (beyond a drop shadow)
        for b in caption[i + 1 :]:
            clash = a.rect.clip(b.rect)
            assert clash.h <= max(a.rect.h, b.rect.h) // 10, f"{where}: {a.text!r} on {b.text!r}"
    for d in drawn:  # the kill screen stays above the caption
        if d.role in KILL_ROLES:
            assert d.rect.bottom <= lay.caption.y, f"{where}: {d.text!r} over the caption"
    pal = get_palette("default")
    px = pygame.surfarray.pixels3d(surf)
    for d in caption:  # and each line is really painted: glyph pixels in its box
        region = px[d.rect.left : d.rect.right, d.rect.top : d.rect.bottom].astype(int)
        color = pal.text if d.role == "body" else pal.accent
        lit = int(np.all(np.abs(region - color) < 40, axis=2).sum())
        assert lit > d.rect.h, f"{where}: no glyphs for {d.text!r}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("origin", list(ORIGINS), ids=str)
def test_every_word_of_every_act_reaches_the_room(size, origin):
    stages: dict[str, Stage] = {}  # one per preset, reset between acts (a kiosk's way)
    for setlist, preset, cues in ACTS:
        stage = stages.setdefault(preset, Stage(size, preset=preset))
        stage.reset()
        stage.set_origin(ORIGINS[origin])
        show_act(stage, cues)
        where = f"{setlist}/{cues.act_name or cues.act} at {size[0]}x{size[1]} ({origin})"
        classroom = stage.effective_preset() == "classroom"
        body = cues.explanation if classroom and cues.explanation else cues.caption
        pages = len(stage.caption_pages())
        seen_body: list[str] = []
        for n in range(1, pages + 1):
            surf, drawn = draw(stage)
            check_page(stage, surf, drawn, f"{where} page {n}/{pages}")
            titles = " ".join(d.text for d in drawn if d.role == "title")
            assert titles.split() == cues.title.split(), where
            seen_body += [d.text for d in drawn if d.role == "body"]
            marks = [d.text for d in drawn if d.role == "page"]
            assert marks == ([page_mark(n, pages)] if pages > 1 else []), where
            assert stage.next_page() == (n < pages)
        assert " ".join(seen_body).split() == body.split(), f"{where}: words lost"


def test_a_long_explanation_pages_with_the_next_key():
    """Through pygame's real event queue (dummy driver): → turns the page, and only on
    the last page goes on to the runner as Action.NEXT_ACT (the next act)."""
    sl = load_setlist("classroom")
    act = max(sl.acts, key=lambda a: len(a.explanation))
    cues = Cues(1.0, act.kind, act.name, act.title, act.caption, act.explanation,
                picture_preset="classroom")  # fmt: skip
    display = Display.open("window", size=(1024, 768))
    try:
        stage = Stage(display.size, preset="classroom")
        view = View(display, stage)
        frame = caged_frame(1.0, cache_b=80 * MiB)
        view.frame(0.0, frame, cues, Status())
        pages = len(stage.caption_pages())
        assert pages >= 2, "the longest classroom explanation pages at 1024×768"
        for n in range(1, pages + 1):
            assert stage.page == n - 1
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
            passed = view.frame(0.02, frame, cues, Status())
            assert passed == ([] if n < pages else [Action.NEXT_ACT]), n
    finally:
        display.close()


@pytest.mark.parametrize("unattended", [True, False])
def test_unattended_pages_turn_by_themselves(unattended):
    """A kiosk (or a headless run) has nobody at the keys: the pages turn at a reading
    pace, round and round; with a presenter they wait for →."""
    sl = load_setlist("classroom")
    act = max(sl.acts, key=lambda a: len(a.explanation))
    cues = Cues(1.0, act.kind, act.name, act.title, act.caption, act.explanation,
                picture_preset="classroom")  # fmt: skip
    stage = Stage((1024, 768), preset="classroom")
    stage.auto_page = unattended
    frame = caged_frame(1.0, cache_b=80 * MiB)
    shown = []
    for _ in range(900):  # 90 s of show time
        stage.update(0.1, frame, cues)
        shown.append(stage.page)
    pages = len(stage.caption_pages())
    assert pages >= 2
    if unattended:
        turns = sum(a != b for a, b in itertools.pairwise(shown))
        assert set(shown) == set(range(pages)) and turns >= pages
        words = len(act.explanation.split()) / pages
        first_turn = shown.index(1) * 0.1
        assert first_turn >= words / 2.5, "a page stays up long enough to be read"
    else:
        assert set(shown) == {0}


def test_a_turned_page_survives_a_resize_and_new_words_start_on_page_one():
    sl = load_setlist("classroom")
    act = max(sl.acts, key=lambda a: len(a.explanation))
    cues = Cues(1.0, act.kind, act.name, act.title, act.caption, act.explanation,
                picture_preset="classroom")  # fmt: skip
    stage = Stage((1024, 768), preset="classroom")
    frame = caged_frame(1.0, cache_b=80 * MiB)
    stage.update(0.1, frame, cues)
    assert stage.next_page() and stage.page == 1
    stage.resize((1000, 760))  # a window dragged a little: still the second page
    stage.update(0.1, frame, cues)
    assert stage.page == 1
    stage.update(0.1, frame, Cues(2.0, Act.EPILOGUE, "after", "Next", "Another act."))
    assert stage.page == 0
