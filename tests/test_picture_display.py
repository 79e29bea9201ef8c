"""Display modes, key mapping, kiosk hold-to-quit; a real window under Xvfb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame
import pytest

from oomphony.commands import Action
from oomphony.errors import DisplayError
from oomphony.picture import CONTROLS, Display, controls_markdown, dri_status
from oomphony.picture.keys import HoldToQuit, map_key


@pytest.mark.parametrize(
    ("key", "uni", "action"),
    [
        (pygame.K_SPACE, " ", Action.PAUSE),
        (pygame.K_UP, "", Action.RATE_UP),
        (pygame.K_DOWN, "", Action.RATE_DOWN),
        (pygame.K_RIGHT, "", Action.NEXT_ACT),
        (pygame.K_k, "k", Action.KILL),
        (pygame.K_r, "r", Action.RESTART),
        (pygame.K_m, "m", Action.MUTE),
        (pygame.K_h, "h", Action.HUD),
        (pygame.K_F11, "", Action.FULLSCREEN),
        (pygame.K_SLASH, "?", Action.HELP),
        (pygame.K_F1, "", Action.HELP),
        (pygame.K_q, "q", Action.QUIT),
        (pygame.K_ESCAPE, "\x1b", Action.QUIT),
        (pygame.K_x, "x", None),
        (pygame.K_LEFT, "", None),
    ],
)
def test_keys_map_to_actions(key, uni, action):
    assert map_key(key, uni) is action


def test_controls_document_every_key_action():
    doc = controls_markdown()
    assert doc.count("\n") == len(CONTROLS) + 1
    for k in ("Space", "K", "F11", "Q / Esc", "hold"):
        assert k in doc


@pytest.mark.parametrize(
    ("events", "now", "quits"),
    [
        ([("press", 0.0)], 1.9, False),
        ([("press", 0.0)], 2.0, True),
        ([("press", 0.0), ("release", 1.0), ("press", 1.5)], 3.0, False),
        ([("press", 0.0), ("press", 1.5)], 2.1, True),  # key repeat keeps the first time
        ([], 10.0, False),
    ],
)
def test_kiosk_quit_needs_a_held_key(events, now, quits):
    hold = HoldToQuit(2.0)
    for what, t in events:
        hold.press(t) if what == "press" else hold.release()
    assert hold.should_quit(now) is quits


def test_headless_display_draws_offscreen(tmp_path):
    d = Display.open("none", size=(640, 360))
    assert d.size == (640, 360) and d.poll(0.0) == []
    d.surface.fill((200, 10, 10))
    d.flip()
    out = tmp_path / "shot.png"
    d.screenshot(out)
    assert pygame.image.load(str(out)).get_at((5, 5))[:3] == (200, 10, 10)
    d.close()


def test_unknown_mode_is_refused():
    with pytest.raises(DisplayError, match="window"):
        Display.open("hologram")


def _run(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("mode", ["window", "fullscreen"])
def test_no_display_gives_one_line_naming_the_alternatives(mode: str):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
    }
    env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
    r = _run(
        """
        from oomphony.errors import DisplayError
        from oomphony.picture import Display
        try:
            Display.open(MODE)
        except DisplayError as err:
            print("ERR", err)
        else:
            print("OPENED")
        """.replace("MODE", repr(mode)),
        env,
    )
    out = r.stdout.strip()
    assert out.startswith("ERR ") and "\n" not in out, r.stdout + r.stderr
    for alt in ("--display none", "xvfb-run", "--display console"):
        assert alt in out
    if mode == "window":  # no window system: decided before SDL probes (and prints noise)
        assert r.stderr.strip() == ""


@pytest.mark.parametrize(
    ("nodes", "mode", "usable"),
    [([], None, False), (["card0"], 0o600, True), (["renderD128"], 0o600, False)],
)
def test_dri_status_reads_the_device_tree(tmp_path, nodes, mode, usable):
    (tmp_path / "dri").mkdir()
    for n in nodes:
        (tmp_path / "dri" / n).touch(mode=mode)
    ok, why = dri_status(tmp_path)
    assert ok is usable and why


def test_dri_status_on_this_machine_says_something():
    ok, why = dri_status()
    assert isinstance(ok, bool) and "/dev/dri" in why


@pytest.fixture
def xvfb():
    """A private X server, killed at the end."""
    for n in range(140, 180):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Xvfb :{n} did not start")
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.display
def test_window_opens_under_xvfb_and_saves_a_screenshot(xvfb, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=xvfb, PYGAME_HIDE_SUPPORT_PROMPT="1")
    shot = tmp_path / "window.png"
    r = _run(
        f"""
        import json, pygame
        from oomphony.cues import Act
        from oomphony.picture import Display, Stage
        from oomphony.support.demo import act_cues, caged_frame
        from oomphony.units import MiB
        d = Display.open("window", size=(1280, 720))
        stage = Stage(d.size)
        frame = caged_frame(1.0, cache_b=80 * MiB, alloc_b=120 * MiB)
        for _ in range(10):
            stage.update(0.1, frame, act_cues(1.0, Act.CACHE))
        stage.draw(d.surface)
        d.flip()
        d.screenshot({str(shot)!r})
        for key in (pygame.K_SPACE, pygame.K_k, pygame.K_q):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=""))
        actions = d.poll(0.0)
        print(json.dumps(dict(driver=pygame.display.get_driver(), size=d.size,
                              actions=[a.value for a in actions],
                              cache=list(stage.palette.cache),
                              grid=list(stage.rammap.ram_grid.rect))))
        d.close()
        """,
        env,
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["driver"] == "x11"
    assert info["actions"] == ["pause", "kill", "quit"]
    img = pygame.image.load(str(shot))
    assert img.get_size() == tuple(info["size"])
    x, y, w, h = info["grid"]
    cache_px = sum(
        1
        for i in range(x, x + w, 4)
        for j in range(y, y + h, 4)
        if tuple(img.get_at((i, j)))[:3] == tuple(info["cache"])
    )
    assert cache_px > 0, "the RAM map's cache cells reached the window"


def test_console_without_a_drm_device_is_one_line_and_leaves_the_environment():
    """--display console sets SDL's KMSDRM driver and its opengles2 renderer (unless the
    user chose one); where no DRM device opens (this machine, no /dev/dri) the error is
    one line and the environment is as it was. The picture on a real KMSDRM screen is
    tested in the VM (test_vm.py::test_bare_console_screen_shows_the_show)."""
    if Path("/dev/dri").exists():
        pytest.skip("this machine has /dev/dri: KMSDRM may open here")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
    env["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
    r = _run(
        """
        import os
        from oomphony.errors import DisplayError
        from oomphony.picture import Display
        try:
            Display.open("console")
        except DisplayError as err:
            print("ERR", err)
        print("ENV", sorted(k for k in os.environ if k.startswith("SDL_")))
        """,
        env,
    )
    err, left = r.stdout.strip().splitlines()
    assert err.startswith("ERR no display for --display console"), r.stdout + r.stderr
    assert "group video" in err and "--display none" in err
    assert left == "ENV []"
