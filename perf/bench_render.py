"""`oomphony render` against the clock: frames per second and the ratio to real time.

Renders the `speedrun` setlist (simulator, seed 0) at 1280×720 / 30 fps (issue 13's goal:
≥ 1× real time, aim ≥ 3×) and 1920×1080 / 60 fps, with each encoder: `pipe` (the
`imageio-ffmpeg` wheel's ffmpeg fed raw frames over a pipe) and `pyav` (PyAV in
process). The reference, measured in the same run, is the same render with no encoder
(the picture drawn and the sound synthesised, nothing encoded): what is left is the
encoder's cost. Ratio to real time = seconds of video made / wall seconds.

The picture's quality: a few frames of the 1280×720 renders are kept as drawn and
compared with the decoded file (PSNR of luma over the whole frame and over the screen's
border strip, which is only TV static); files sizes in Mbit/s.

Run: `.venv/bin/python perf/bench_render.py` (SDL is not needed: nothing is shown).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import update_section

from oomphony.render import job
from oomphony.render.encoders import CRF, DEFAULT_ENCODER, X264_PRESET, Target
from oomphony.render.job import RenderConfig, plan_render, render
from oomphony.show.config import PictureConfig, RunConfig

CONFIGS = ((1280, 720, 30), (1920, 1080, 60))
ENCODERS = ("none", "pipe", "pyav")  # none: the reference (nothing encoded)
KEEP = (150, 450, 700)  # frames compared with the decoded file (720p: cache, swap, after)
BORDER_PX = 8  # the screen's edge: TV static only


class _NoEncoder:
    def video(self, surface) -> None:
        return None

    def audio(self, block) -> None:
        return None

    def finish(self) -> None:
        return None

    def abort(self) -> None:
        return None


class _Keeper:
    """Passes everything on to the real encoder, keeping copies of a few frames (Y)."""

    def __init__(self, inner, keep: tuple[int, ...]) -> None:
        self.inner, self.keep, self.n, self.kept = inner, keep, 0, {}

    def video(self, surface) -> None:
        if self.n in self.keep:
            import pygame

            rgb = pygame.surfarray.array3d(surface).swapaxes(0, 1).astype(np.float64)
            self.kept[self.n] = rgb @ np.array([0.299, 0.587, 0.114])  # BT.601 luma
        self.n += 1
        self.inner.video(surface)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _border(y: np.ndarray) -> np.ndarray:
    b = BORDER_PX
    return np.concatenate([y[:b].ravel(), y[-b:].ravel(), y[:, :b].ravel(), y[:, -b:].ravel()])


def _decoded_luma(path: Path, keep: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The kept frames' luma as decoded, full range (like the drawn frames)."""
    out: dict[int, np.ndarray] = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in keep:
                rgb = f.to_ndarray(format="rgb24").astype(np.float64)
                out[i] = rgb @ np.array([0.299, 0.587, 0.114])
    return out


def one(size: tuple[int, int], fps: int, encoder: str, out_dir: Path) -> dict:
    out = out_dir / f"speedrun-{size[0]}x{size[1]}-{fps}-{encoder}.mp4"
    run = RunConfig(command="render", backend="sim", setlist="speedrun",
                    picture=PictureConfig(display="none"))  # fmt: skip
    cfg = RenderConfig(out=out, run=run, size=size, fps=fps, encoder=DEFAULT_ENCODER)
    plan = plan_render(cfg)
    real_open = job.open_encoder
    keeper: list[_Keeper] = []

    def opener(target: Target, name: str, notice) -> object:
        if encoder == "none":
            return _NoEncoder()
        k = _Keeper(real_open(target, encoder, notice), KEEP if size[0] == 1280 else ())
        keeper.append(k)
        return k

    job.open_encoder = opener
    try:
        t0 = time.perf_counter()
        result = render(cfg, plan, lambda _t: None)
        wall = time.perf_counter() - t0
    finally:
        job.open_encoder = real_open
    row = {"frames": result.frames, "video_s": result.video_s, "wall_s": wall}
    if encoder != "none":
        row["mbps"] = out.stat().st_size * 8 / 1e6 / result.video_s
        if keeper and keeper[0].kept:
            dec = _decoded_luma(out, keeper[0].kept)
            row["psnr"] = min(_psnr(keeper[0].kept[i], dec[i]) for i in dec)
            row["psnr_noise"] = min(_psnr(_border(keeper[0].kept[i]), _border(dec[i])) for i in dec)
        out.unlink()
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-1080", action="store_true", help="only 1280×720")
    ap.add_argument("--rounds", type=int, default=3, help="rounds at 1280×720 (1080p: one)")
    args = ap.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as d:
        for w, h, fps in CONFIGS[:1] if args.no_1080 else CONFIGS:
            rounds = args.rounds if w == 1280 else 1
            runs: dict[str, list[dict]] = {enc: [] for enc in ENCODERS}
            for _ in range(rounds):  # the encoders alternate: the load hits them alike
                for enc in ENCODERS:
                    r = one((w, h), fps, enc, Path(d))
                    runs[enc].append(r)
                    print(enc, w, h, fps, r, flush=True)
            for enc in ENCODERS:
                best = sorted(runs[enc], key=lambda r: r["wall_s"])[len(runs[enc]) // 2]
                row = {**runs[enc][0], "wall_s": best["wall_s"]}  # median wall; PSNR once
                row.update(size=f"{w}×{h}", fps=fps, encoder=enc, rounds=rounds)
                row["walls"] = [r["wall_s"] for r in runs[enc]]
                rows.append(row)
    lines = [
        "`speedrun` on the simulator (seed 0); each row the median wall time of its rounds "
        "(the encoders alternate within a round; the range is in the last column). "
        f"H.264 `yuv420p`, x264 preset `{X264_PRESET}`, CRF {CRF}, "
        "AAC 192 kb/s. The reference row (`none`) draws every frame and synthesises the "
        "sound but encodes nothing. Ratio to real time = video seconds ÷ wall seconds "
        "(goal at 1280×720 / 30 fps: ≥ 1×, aim ≥ 3×).",
        "",
        "| size | fps | encoder | frames | video s | wall s | frames/s | × real time | "
        "÷ reference | Mbit/s | PSNR min dB (frame / static) | rounds: wall s |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    ref = {}
    for r in rows:
        key = (r["size"], r["fps"])
        if r["encoder"] == "none":
            ref[key] = r["wall_s"]
        psnr = f"{r['psnr']:.1f} / {r['psnr_noise']:.1f}" if "psnr" in r else "—"
        mbps = f"{r['mbps']:.1f}" if "mbps" in r else "—"
        lines.append(
            f"| {r['size']} | {r['fps']} | {r['encoder']} | {r['frames']} | {r['video_s']:.1f} "
            f"| {r['wall_s']:.1f} | {r['frames'] / r['wall_s']:.0f} "
            f"| **{r['video_s'] / r['wall_s']:.2f}×** | {r['wall_s'] / ref[key]:.2f} "
            f"| {mbps} | {psnr} | {r['rounds']}: "
            f"{min(r['walls']):.1f}–{max(r['walls']):.1f} |"
        )
    load = os.getloadavg()
    lines += [
        "",
        f"Machine: {platform.release()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, PyAV {av.__version__}; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min).",
        "",
        "Command: `.venv/bin/python perf/bench_render.py`",
    ]
    text = "\n".join(lines)
    print(text)
    update_section("render", text)


if __name__ == "__main__":
    main()
