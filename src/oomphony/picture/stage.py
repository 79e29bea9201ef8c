"""The scene: noise field, RAM map and swap area, timeline, gauges, caption, kill screen
and HUD, drawn only from frames and cues.

`Stage` keeps drawing state (cell owners, the 60 s history, the obituary's figures, the
caption's page) and draws onto any surface; it never touches the display, the clock or
/proc. Timers run on the `dt_s` given to `update`, in seconds. `origin` (handed down by
the runner from the source) puts the sim or replay badge on every screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pygame

from oomphony.cues import PICTURE_PRESETS, Act, Cues
from oomphony.frame import MemoryFrame
from oomphony.picture import text
from oomphony.picture.arena import ArenaParts, arena_parts
from oomphony.picture.badge import Badge, badge_layout, draw_badge
from oomphony.picture.captions import CaptionPager, Page, draw_caption
from oomphony.picture.gauges import Smoother, draw_gauges, gauge_rows
from oomphony.picture.hud import HudInfo, draw_help, draw_hud
from oomphony.picture.killscreen import (
    Obituary,
    draw_kill_screen,
    kernel_chars,
    kill_screen_layout,
    typed_chars,
)
from oomphony.picture.layout import RAM_CELLS_TARGET, Layout, compute_layout, fit_grid
from oomphony.picture.noise import NoiseField, noise_params, noise_regions, rate_level
from oomphony.picture.palette import OWNER_NAMES, get_palette
from oomphony.picture.rammap import RamMap
from oomphony.picture.timeline import History, draw_timeline, sample_of
from oomphony.sources.base import Origin
from oomphony.support.demo import kill_cues
from oomphony.units import format_size

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


@dataclass(slots=True)
class _Run:
    """Figures of the current allocator run, for the obituary."""

    start_t_s: float | None = None
    pid: int | None = None
    comm: str | None = None
    peak_b: int = 0
    swap_peak_b: int = 0


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
        self._regions_key: tuple | None = None
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
        self._warm_kill_screen()

    def _warm_kill_screen(self) -> None:
        """Draw a kill screen once, off-screen, at this size: its fonts are loaded and its
        fixed lines rendered before a real kill needs them (measured at 1080p: the first
        kill-screen frame took 4–5 ms of CPU time cold, about 2 ms warm)."""
        cues = kill_cues(0.0, 1)
        lines, _ = kill_screen_layout(cues, Obituary("python", 1, 0, 0.0, 0), 0.0, self.layout)
        draw_kill_screen(pygame.Surface((1, 1)), lines, 0, 0.0, self.palette)

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
        self.run = _Run()
        self.rows = ()
        self.history.clear()
        self.smoother.clear()
        self.rammap.reset()
        self.pager.reset()
        self._kill_key: tuple | None = None

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
        self._track_run(frame)
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

    def _track_run(self, frame: MemoryFrame) -> None:
        a, run = frame.alloc, self.run
        if not a.alive:
            return
        if a.pid is not None and run.pid is not None and a.pid != run.pid:
            self.run = run = _Run()  # a restarted allocator: a new life
        if run.start_t_s is None:
            run.start_t_s = frame.t_s
        run.pid = a.pid if a.pid is not None else run.pid
        footprint = (a.rss_b if a.rss_b is not None else a.allocated_b) + (a.swap_b or 0)
        run.peak_b = max(run.peak_b, footprint)
        run.swap_peak_b = max(run.swap_peak_b, frame.swap_b)

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
        k, run = cues.kill, self.run
        kill_t = cues.kill_t_s if cues.kill_t_s is not None else (k.t_s if k else frame.t_s)
        peak = max(run.peak_b, (k.anon_rss_b or 0) if k else 0)
        self.obituary = Obituary(
            name=(k.comm if k and k.comm else None),
            pid=(k.pid if k and k.pid is not None else run.pid),
            peak_b=peak or None,
            time_to_kill_s=(kill_t - run.start_t_s) if run.start_t_s is not None else None,
            swap_b=run.swap_peak_b,
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
        self.noise.draw(
            surface, params, None if kill_screen else self._noise_regions(), pal.panel_dim
        )
        if kill_screen:
            age = self.kill_age_s() or 0.0
            key = (self.kill_key, self.size, self.obituary, self.origin)
            if key != self._kill_key:
                self._kill_key = key
                self._kill_lines = kill_screen_layout(
                    self.cues, self.obituary, 0.0, lay, self.origin, lay.caption.y - lay.margin
                )[0]
            lines = self._kill_lines
            typed = typed_chars(lines, age)
            draw_kill_screen(surface, lines, typed, age, pal)
            if typed >= kernel_chars(lines):  # the act's words, once the line is typed
                draw_caption(surface, self.caption_lines(), pal)
        else:
            self._draw_scene(surface)
        self._draw_overlays(surface, hud, help_overlay)

    def _draw_overlays(self, surface, hud, help_overlay) -> None:
        badge = self.badge()
        if badge is not None:
            draw_badge(surface, badge, self.palette)
        if hud is not None:
            draw_hud(surface, hud, self.layout, self.palette)
        if help_overlay:
            draw_help(surface, self.layout, self.palette, self.kiosk)

    # --- scene drawing (the noise's regions, the RAM map, gauges) ---------------------

    def _noise_regions(self) -> tuple[list[pygame.Rect], list[pygame.Rect]]:
        """Where the noise is full-strength and where it is dimmed behind a panel; the
        RAM and swap grids are opaque, so no noise is drawn under them."""
        lay, rm = self.layout, self.rammap
        opaque = [rm.ram_grid.rect] + ([rm.swap_grid.rect] if rm.swap.n else [])
        key = (lay, *opaque)
        if key != self._regions_key:
            pad = lay.margin // 2
            panels = [
                r.inflate(pad * 2, pad * 2)
                for r in (lay.ram_panel, lay.swap_panel, lay.gauges, lay.timeline, lay.caption)
            ]
            self._regions_key = key
            self._regions = noise_regions(self.size, panels, opaque)
        return self._regions

    def _draw_scene(self, surface: pygame.Surface) -> None:
        pal, lay, parts = self.palette, self.layout, self.parts
        assert parts is not None and self.cues is not None
        px = lay.label_px
        where = "the cage" if parts.caged else "the whole machine"
        title = f"RAM  {format_size(parts.ram_b)}  ({where})"
        surface.blit(text.render(title, px, pal.text, bold=True), lay.ram_title.topleft)
        if self.cues.paused:
            badge = text.render("PAUSED", px, pal.accent, bold=True)
            surface.blit(badge, (lay.ram_title.right - badge.get_width(), lay.ram_title.y))
        swap_t = "SWAP  (disk)" if parts.swap_total_b > 0 else "SWAP  none"
        swap_t = text.ellipsize(swap_t, px, lay.swap_title.w, bold=True)
        surface.blit(text.render(swap_t, px, pal.text, bold=True), lay.swap_title.topleft)
        if parts.swap_total_b > 0:
            used = f"{format_size(parts.swap_used_b)} of {format_size(parts.swap_total_b)}"
            used = text.ellipsize(used, lay.small_px, lay.swap_title.w)
            surface.blit(
                text.render(used, lay.small_px, pal.text),
                (lay.swap_foot.x, lay.swap_foot.y + round(lay.small_px * 0.3)),
            )
        self.rammap.draw(surface, pal)
        if parts.swap_total_b <= 0:
            msg = text.render("no swap here", px, pal.text_dim)
            surface.blit(msg, msg.get_rect(center=lay.swap_map.center))
        self._draw_legend(surface, parts)
        draw_gauges(surface, lay.gauges, self.rows, self.smoother, pal, px)
        draw_timeline(surface, lay.timeline, self.history, pal, lay.small_px)
        draw_caption(surface, self.caption_lines(), pal)

    def _draw_legend(self, surface: pygame.Surface, parts: ArenaParts) -> None:
        pal, lay = self.palette, self.layout
        px = lay.small_px
        x, y = lay.legend.x, lay.legend.y + round(px * 0.4)
        sizes = parts.ram
        for owner in (3, 1, 0, 2, 4):  # the hog, cache, free, other, sleeper
            if owner == 4 and sizes[owner] == 0:
                continue
            label = f"{OWNER_NAMES[owner]} {format_size(sizes[owner])}"
            surf = text.render(label, px, pal.text)
            need = px + px // 2 + surf.get_width() + px
            if x + need > lay.legend.right:
                break
            surface.fill(pal.owners[owner], (x, y + px // 8, px, px))
            surface.blit(surf, (x + px + px // 2, y - px // 8))
            x += need
