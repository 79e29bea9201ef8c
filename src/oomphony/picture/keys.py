"""Live controls: pygame keys → show actions, and the kiosk's held-key quit.

`CONTROLS` is the one list the `?` overlay and the README show. `map_key` is a pure
function of a key press; `HoldToQuit` is a small state machine in seconds.
"""

from __future__ import annotations

import pygame

from oomphony.commands import Action

KIOSK_HOLD_S = 2.0  # kiosk: Q or Esc must be held this long to quit


CONTROLS: tuple[tuple[str, str], ...] = (
    ("Space", "pause / resume the allocator"),
    ("↑ / ↓", "allocation rate up / down"),
    ("→", "next page of a long explanation, then the next act"),
    ("K", "kill the allocator now (a manual SIGKILL, not an OOM kill)"),
    ("R", "restart the show"),
    ("M", "mute / unmute"),
    ("H", "presenter HUD on / off"),
    ("F11", "fullscreen on / off"),
    ("?  or  F1", "this help"),
    ("Q / Esc", f"quit (kiosk: hold {KIOSK_HOLD_S:.0f} s)"),
)

_KEYS = {
    pygame.K_SPACE: Action.PAUSE,
    pygame.K_UP: Action.RATE_UP,
    pygame.K_DOWN: Action.RATE_DOWN,
    pygame.K_RIGHT: Action.NEXT_ACT,
    pygame.K_k: Action.KILL,
    pygame.K_r: Action.RESTART,
    pygame.K_m: Action.MUTE,
    pygame.K_h: Action.HUD,
    pygame.K_F11: Action.FULLSCREEN,
    pygame.K_F1: Action.HELP,
    pygame.K_QUESTION: Action.HELP,
    pygame.K_q: Action.QUIT,
    pygame.K_ESCAPE: Action.QUIT,
}
QUIT_KEYS = frozenset({pygame.K_q, pygame.K_ESCAPE})


def map_key(key: int, unicode: str = "") -> Action | None:
    """The action for a key press (`unicode` catches '?' on any keyboard layout)."""
    if unicode == "?":
        return Action.HELP
    return _KEYS.get(key)


def controls_markdown() -> str:
    """The controls as a Markdown table, for the README."""
    rows = ["| key | action |", "| --- | --- |"]
    rows += [f"| {k} | {v} |" for k, v in CONTROLS]
    return "\n".join(rows)


class HoldToQuit:
    """Kiosk quitting: a quit key must stay down for `hold_s` seconds."""

    def __init__(self, hold_s: float = KIOSK_HOLD_S) -> None:
        self.hold_s = hold_s
        self.down_since: float | None = None

    def press(self, now_s: float) -> None:
        if self.down_since is None:
            self.down_since = now_s

    def release(self) -> None:
        self.down_since = None

    def progress(self, now_s: float) -> float:
        """0..1 of the hold so far (for an on-screen hint)."""
        if self.down_since is None:
            return 0.0
        return min(1.0, (now_s - self.down_since) / self.hold_s)

    def should_quit(self, now_s: float) -> bool:
        return self.down_since is not None and now_s - self.down_since >= self.hold_s
