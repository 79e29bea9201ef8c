"""The run configuration and the source factory: arguments → `RunConfig` → sources."""

from __future__ import annotations

import pytest

from oomphony.cli.command import build_parser
from oomphony.cli.runargs import record_config, run_config
from oomphony.errors import UsageError
from oomphony.show.assembly import plan_show
from oomphony.sources.factory import SIM_MEMORY_B, SIM_SWAP_B, SourceFactory, SourceSpec
from oomphony.units import MiB

RUN_KEYS = [
    "command", "backend", "memory_b", "swap_b", "global", "speed", "seed", "duration_s",
    "shows", "display", "palette", "no_audio", "audio_device", "audio_out", "latency",
    "screenshots", "trace", "unprotected",
]  # fmt: skip
OSC_KEYS = ["osc_out", "osc_in"]
FILL_KEYS = ["rate_bps", "cache_b", "sleeper_b"]


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_run_arguments_become_one_config() -> None:
    cfg = run_config(
        parse("run", "speedrun", "--backend", "sim", "--memory", "96MiB", "--swap", "none",
              "--speed", "3", "--seed", "4", "--shows", "2", "--palette", "colorblind",
              "--display", "none", "--no-audio", "--latency", "0.05")
    )  # fmt: skip
    assert (cfg.command, cfg.backend, cfg.setlist) == ("run", "sim", "speedrun")
    assert (cfg.cage.memory_b, cfg.cage.swap_b, cfg.cage.global_) == (96 * MiB, 0, False)
    assert (cfg.speed, cfg.seed, cfg.shows, cfg.duration_s) == (3.0, 4, 2, None)
    assert (cfg.picture.display, cfg.picture.palette) == ("none", "colorblind")
    assert cfg.audio.no_audio and not cfg.audio.wants_device and cfg.audio.latency == 0.05
    assert cfg.fill is None


def test_a_trace_makes_auto_a_replay_and_contradictions_are_refused() -> None:
    assert run_config(parse("run", "--trace", "x.jsonl")).backend == "replay"
    with pytest.raises(UsageError, match="does not go with --backend sim"):
        run_config(parse("run", "--trace", "x.jsonl", "--backend", "sim"))
    with pytest.raises(UsageError, match="live runs at 1x"):
        run_config(parse("run", "--backend", "live", "--speed", "2"))


@pytest.mark.parametrize(
    ("argv", "keys"),
    [
        (["run", "--backend", "sim"], [*RUN_KEYS, *OSC_KEYS]),
        (["record", "{tmp}/t.jsonl"], [*RUN_KEYS[:5], *RUN_KEYS[7:8], *RUN_KEYS[11:15],
                                       "unprotected", *OSC_KEYS, *FILL_KEYS]),
        (["record", "{tmp}/t.jsonl", "speedrun"], [*RUN_KEYS, *OSC_KEYS, *FILL_KEYS]),
    ],
)  # fmt: skip
def test_the_trace_header_options_keep_their_keys(tmp_path, argv, keys) -> None:
    """docs/trace-format.md: each command's options, in the order traces have them."""
    args = parse(*(a.format(tmp=tmp_path) for a in argv))
    cfg = run_config(args) if argv[0] == "run" else record_config(args)
    assert list(cfg.header_options("live")) == keys


def test_record_without_a_setlist_resolves_its_plain_fill_into_the_header(tmp_path) -> None:
    cfg = record_config(parse("record", str(tmp_path / "t.jsonl"), "--memory", "64MiB",
                              "--swap", "0"))  # fmt: skip
    plan = plan_show(cfg)
    assert plan.setlist is None and not plan.loop
    assert plan.source.live_plan is not None
    assert plan.options["cache_b"] == plan.source.live_plan.cache_b > 0
    assert plan.options["rate_bps"] == 100 * MiB and plan.options["sleeper_b"] == 0


def test_sim_shows_count_their_seed_and_take_the_default_cage() -> None:
    factory = SourceFactory(SourceSpec(backend="sim", seed=7))
    first, second = factory.make(), factory.make()
    try:
        assert (first.name, factory.backend, factory.shows) == ("sim", "sim", 2)
        assert first.describe_cage() == {"kind": "sim", "memory_b": SIM_MEMORY_B,
                                         "swap_b": SIM_SWAP_B}  # fmt: skip
        # show n of a run is seeded seed + n - 1: two shows differ, a rerun repeats
        again = SourceFactory(SourceSpec(backend="sim", seed=8)).make()
        t = [s.step(20.0)[0] for s in (first, second, again)]
        assert t[1] == t[2] and t[0] != t[1]
    finally:
        for s in (first, second):
            s.close()


def test_a_cage_this_machine_cannot_have_is_refused_before_anything_starts() -> None:
    cfg = run_config(parse("run", "speedrun", "--backend", "live", "--memory", "64TiB"))
    with pytest.raises(UsageError, match="more than this machine has"):
        plan_show(cfg)


def test_osc_options_become_the_osc_config_and_the_header_says_them() -> None:
    cfg = run_config(
        parse("run", "--backend", "sim", "--osc-out", "127.0.0.1:9001",
              "--osc-out", "localhost:57120", "--osc-in", "9000")
    )  # fmt: skip
    assert cfg.osc.out == (("127.0.0.1", 9001), ("localhost", 57120))
    assert cfg.osc.listen == ("127.0.0.1", 9000)  # a bare port: the loopback only
    opts = cfg.header_options("sim")
    assert opts["osc_out"] == ["127.0.0.1:9001", "localhost:57120"]
    assert opts["osc_in"] == "127.0.0.1:9000"
    plain = run_config(parse("run", "--backend", "sim"))
    assert not plain.osc.wanted and plain.header_options("sim")["osc_out"] is None
    assert run_config(parse("run", "--osc-in", "[::1]:9000")).osc.listen == ("::1", 9000)
