"""The scene: noise field, RAM map and swap area, timeline, gauges, caption, kill screen
and HUD, drawn only from frames and cues.

`Stage` keeps drawing state (cell owners, the 60 s history, the obituary's figures, the
caption's page) and draws onto any surface; it never touches the display, the clock or
/proc. Timers run on the `dt_s` given to `update`, in seconds. `origin` (handed down by
the runner from the source) puts the sim or replay badge on every screen.
"""

from __future__ import annotations

import logging

import pygame

from oomphony.cues import PICTURE_PRESETS, Act, Cues
from oomphony.frame import MemoryFrame
from oomphony.picture import text
from oomphony.picture.arena import ArenaParts, arena_parts
from oomphony.picture.badge import Badge, badge_layout, draw_badge
from oomphony.picture.captions import CaptionPager, Page, draw_caption
from oomphony.picture.gauges import Smoother, gauge_rows
from oomphony.picture.hud import HudInfo, draw_failures, draw_help, draw_hud
from oomphony.picture.killscreen import KillScreen, Obituary
from oomphony.picture.layout import RAM_CELLS_TARGET, Layout, compute_layout, fit_grid
from oomphony.picture.noise import NoiseField, noise_params, rate_level
from oomphony.picture.palette import get_palette
from oomphony.picture.rammap import RamMap
from oomphony.picture.scene import SceneRegions, draw_scene
from oomphony.picture.timeline import History, sample_of
from oomphony.sources.base import Origin
from oomphony.trace.story import Story, advance

log = logging.getLogger(__name__)

KILL_SCREEN_MIN_S = 6.0  # the kill screen stays this long even if the act moves on
PRESETS = PICTURE_PRESETS
_ACT_LABEL = {
    Act.ATTRACT: "attract",
    Act.OVERTURE: "overture",
    Act.CACHE: "cache gives way",
    Act.SWAP: "swap",
    Act.KILL: "OOM kill",
    Act.EPILOGUE: "epilogue",
}


class Stage:
    def __init__(
        self,
        size: tuple[int, int],
        *,
        preset: str = "stage",
        palette: str = "default",
        seed: int = 0,
    ) -> None:
        text.ensure_init()
        self.preset = preset if preset in PRESETS else "stage"
        self.palette = get_palette(palette)
        self.seed = seed
        self.kiosk = False  # the help overlay mentions the held quit key
        self.auto_page = False  # nobody turns the caption's pages: they turn by themselves
        self.origin = Origin("live")
        self.noise = NoiseField(seed)
        self.regions = SceneRegions()
        self.killscreen = KillScreen()
        self.pager = CaptionPager()
        self.kill_shown_t_s: float | None = None
        self.history = History()
        self.smoother = Smoother()
        self.size = (0, 0)
        self.layout: Layout = compute_layout(
            (max(1, size[0]), max(1, size[1])), classroom=self.preset == "classroom"
        )
        self.rammap = RamMap(
            fit_grid(self.layout.ram_map, RAM_CELLS_TARGET), self.layout.swap_map, seed
        )
        self.resize(size)
        self.reset()

    # --- state ------------------------------------------------------------------------

    def resize(self, size: tuple[int, int]) -> None:
        size = (max(1, int(size[0])), max(1, int(size[1])))
        if size == self.size:
            return
        self.size = size
        self.layout = compute_layout(size, classroom=self.preset == "classroom")
        self.rammap.set_geometry(
            fit_grid(self.layout.ram_map, RAM_CELLS_TARGET), self.layout.swap_map
        )
        self.pager.invalidate()
        self._badge_key: tuple | None = None
        self.failures: tuple[str, ...] = ()  # the runner's, drawn on every screen
        KillScreen.warm(self.layout, self.palette)

    def set_origin(self, origin: Origin) -> None:
        """Where the frames come from (the source's `origin`): sim and replay get a badge."""
        self.origin = origin

    def reset(self) -> None:
        """A new show (kiosk loop): history, cells, kill and obituary figures cleared."""
        self.t_s = 0.0
        self.frame: MemoryFrame | None = None
        self.cues: Cues | None = None
        self.parts: ArenaParts | None = None
        self.act: Act | None = None
        self.act_since_s = 0.0
        self.kill_key: tuple | None = None
        self.kill_seen_s = 0.0
        self.obituary: Obituary | None = None
        self.story: Story | None = None  # the allocator life's facts, for the obituary
        self.rows = ()
        self.history.clear()
        self.smoother.clear()
        self.rammap.reset()
        self.pager.reset()

    def update(self, dt_s: float, frame: MemoryFrame, cues: Cues) -> None:
        dt_s = max(0.0, float(dt_s))
        self.t_s += dt_s
        self.frame, self.cues = frame, cues
        self.parts = parts = arena_parts(frame)
        self.rammap.update(dt_s, parts)
        self.history.add(sample_of(frame.t_s, parts), has_swap=parts.swap_total_b > 0)
        if cues.act != self.act:
            if self.act is not None and cues.act is not Act.KILL:
                label = cues.title or _ACT_LABEL.get(cues.act, str(cues.act))
                self.history.mark(frame.t_s, label, "act")
            self.act, self.act_since_s = cues.act, self.t_s
        self.story = advance(self.story, frame, cues.new_events)
        self._track_kill(frame, cues)
        self.rows = gauge_rows(frame)
        self.smoother.step(dt_s, self.rows)
        self._turn_pages(dt_s)

    def _turn_pages(self, dt_s: float) -> None:
        self.pager.turn(dt_s, self.caption_pages(), auto=self.auto_page)

    def next_page(self) -> bool:
        """The next key: turn the caption's page; False on its last page (the key then
        moves the show to the next act)."""
        return self.pager.next_page(len(self.caption_pages()))

    @property
    def page(self) -> int:
        return self.pager.page

    def _track_kill(self, frame: MemoryFrame, cues: Cues) -> None:
        if cues.kill is not None:
            key: tuple | None = ("oom", cues.kill.pid, cues.kill.t_s)
        elif cues.manual_kill:
            key = ("manual", cues.kill_t_s)
        else:
            key = None
        if key == self.kill_key:
            return
        self.kill_key = key
        if key is None:
            self.obituary = None
            return
        self.kill_seen_s = self.t_s
        k, story = cues.kill, self.story
        assert story is not None
        kill_t = cues.kill_t_s if cues.kill_t_s is not None else (k.t_s if k else frame.t_s)
        peak = max(story.footprint_peak_b, (k.anon_rss_b or 0) if k else 0)
        start = story.start_t_s
        self.obituary = Obituary(
            name=(k.comm if k and k.comm else None),
            pid=(k.pid if k and k.pid is not None else story.pid),
            peak_b=peak or None,
            time_to_kill_s=(kill_t - start) if start is not None else None,
            swap_b=story.swap_peak_b,
        )
        self.history.mark(frame.t_s, "killed" if cues.manual_kill and not k else "OOM kill", "kill")

    # --- what is shown ----------------------------------------------------------------

    def kill_age_s(self) -> float | None:
        return None if self.kill_key is None else self.t_s - self.kill_seen_s

    def kill_screen_active(self) -> bool:
        age = self.kill_age_s()
        if age is None or self.cues is None:
            return False
        return self.cues.act is Act.KILL or age < KILL_SCREEN_MIN_S

    def effective_preset(self) -> str:
        cp = self.cues.picture_preset if self.cues else "stage"
        return cp if cp in PRESETS and cp != "stage" else self.preset

    def badge(self) -> Badge | None:
        """The sim or replay badge as laid out now (None for a live show)."""
        key = (self.origin, self.size)
        if key != self._badge_key:
            self._badge_key = key
            self._badge = badge_layout(self.origin, self.layout)
        return self._badge

    def caption_pages(self) -> tuple[Page, ...]:
        """The caption's pages as laid out now (each: title, body lines, page marker)."""
        c = self.cues
        title = c.title if c else ""
        body = ""
        classroom = self.effective_preset() == "classroom"
        if c:
            body = c.explanation if classroom and c.explanation else c.caption
        badge = self.badge()
        return self.pager.pages(title, body, self.layout, classroom=classroom, badge=badge)

    def caption_lines(self) -> Page:
        """The caption's current page (title, then body lines, then the page marker)."""
        return self.caption_pages()[self.pager.page]

    # --- drawing ----------------------------------------------------------------------

    def draw(
        self, surface: pygame.Surface, hud: HudInfo | None = None, help_overlay: bool = False
    ) -> None:
        if surface.get_size() != self.size:
            self.resize(surface.get_size())
        pal, lay = self.palette, self.layout
        if self.frame is None or self.cues is None:
            surface.fill(pal.background)
            self._draw_overlays(surface, hud, help_overlay)
            return
        act = self.cues.act
        psi = self.frame.psi.some or 0.0
        rate = rate_level(
            self.frame.alloc.rate_bps if self.frame.alloc.alive else 0.0, self.frame.limit_b
        )
        params = noise_params(
            act, rate, psi, self.t_s - self.act_since_s, pal, kill_age_s=self.kill_age_s()
        )
        kill_screen = self.kill_screen_active() and self.obituary is not None
        kill = self.cues.kill
        # Which OOM kill's screen this frame shows (the runner times kill → screen by it).
        self.kill_shown_t_s = kill.t_s if kill_screen and kill is not None else None
        regions = None if kill_screen else self.regions.get(lay, self.rammap)
        self.noise.draw(surface, params, regions, pal.panel_dim)
        if kill_screen:
            assert self.obituary is not None
            key = (self.kill_key, self.size, self.obituary, self.origin)
            age = self.kill_age_s() or 0.0
            typed = self.killscreen.draw(
                surface, key, self.cues, self.obituary, age, lay, self.origin, pal
            )
            if typed:  # the act's words, once the kernel's line is typed
                draw_caption(surface, self.caption_lines(), pal)
        else:
            assert self.parts is not None
            draw_scene(
                surface, lay, pal, self.parts, paused=self.cues.paused, rammap=self.rammap,
                gauges=self.rows, smoother=self.smoother, history=self.history,
                caption=self.caption_lines(),
            )  # fmt: skip
        self._draw_overlays(surface, hud, help_overlay)

    def _draw_overlays(self, surface, hud, help_overlay) -> None:
        badge = self.badge()
        if badge is not None:
            draw_badge(surface, badge, self.palette)
        if self.failures:
            draw_failures(surface, self.failures, self.layout, self.palette)
        if hud is not None:
            draw_hud(surface, hud, self.layout, self.palette)
        if help_overlay:
            draw_help(surface, self.layout, self.palette, self.kiosk)
