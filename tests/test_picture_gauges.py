"""The gauges' figures: eased like their bars, so a live source's 100 Hz samples (a burst,
then nothing for a few ticks) read as a steady number beside a steady bar."""

from __future__ import annotations

from oomphony.picture.gauges import Bar, Smoother, _rate_text
from oomphony.units import MiB


def _bar(bps: float) -> Bar:
    return Bar("out", _rate_text(bps), None, "alloc", bps, _rate_text)


def _figure_mib_s(text: str) -> float:
    return float(text.split()[0])


def test_bursty_samples_give_a_steady_figure() -> None:
    smooth = Smoother()
    # 40 MiB/s on average, sampled at 100 Hz as one 200 MiB/s tick in five, drawn at 60 fps.
    shown = []
    for i in range(600):
        bar = _bar(200 * MiB if i % 5 == 0 else 0.0)
        smooth.step(1 / 60, (("swap traffic", (bar,)),))
        shown.append(_figure_mib_s(smooth.figure(0, 0, bar)))
    settled = shown[120:]
    assert min(settled) > 10, "the figure never drops to the empty samples' 0"
    assert max(settled) < 150, "nor jumps to the bursts' 200"
    assert abs(sum(settled) / len(settled) - 40) < 8


def test_a_steady_value_is_shown_as_it_is() -> None:
    smooth = Smoother()
    bar = _bar(20 * MiB)
    for _ in range(200):
        smooth.step(1 / 60, (("allocation", (bar,)),))
    assert smooth.figure(0, 0, bar) == "20 MiB/s"


def test_unknown_values_keep_the_frames_text() -> None:
    smooth = Smoother()
    bar = Bar("out", "—", None, "alloc", None, _rate_text)
    smooth.step(1 / 60, (("swap traffic", (bar,)),))
    assert smooth.figure(0, 0, bar) == "—"
