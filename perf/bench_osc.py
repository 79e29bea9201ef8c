"""What `--osc-out` costs the show loop, measured side by side with the same show without it.

Each round runs every configuration once, alternating the order from round to round,
in this process (no start-up in the figures):
- **headless**: `oomphony run talk --backend sim --display none --no-audio --speed 100000`:
  the loop never sleeps, one trace frame (one OSC bundle) per tick, nothing else in the
  tick: the harshest denominator;
- **headless, receiver gone**: the same, sending to a port nobody listens on (the kernel
  answers "port unreachable"; the sends that fail are counted, not waited for);
- **with a picture**: the sim talk at 1×, a 1280×720 window on SDL's dummy driver, for
  `--duration 15`: the show as staged (a tick is a picture frame; 50 bundles a second).

A tick's cost is the process's CPU time over the run ÷ its ticks (CPU time leaves out
the sleeps and the time spent waiting for a core on a shared machine); the headless
rows also give wall-clock time. The OSC work inside the loop (`send_frame`,
`send_events`, `take`) is also timed directly, in the thread's CPU time (the kernel's work
of the send, done in the sender's context, included), and divided by the tick without
OSC. The receiver is a separate process that only drains its socket.
Goal (issue 14): OSC sending ≤ 5 % of the show's per-tick time.

Run: `.venv/bin/python perf/bench_osc.py [--rounds N] [--picture-rounds N]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import update_section

from oomphony.cli.command import build_parser
from oomphony.cli.runargs import run_config
from oomphony.show.assembly import open_show, plan_show

HEADLESS = ["run", "talk", "--backend", "sim", "--display", "none", "--no-audio",
            "--speed", "100000"]  # fmt: skip
PICTURE = ["run", "talk", "--backend", "sim", "--display", "window", "--no-audio",
           "--speed", "1", "--duration", "15"]  # fmt: skip
DRAIN = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)\n"
    "s.bind(('127.0.0.1', 0)); print(s.getsockname()[1], flush=True)\n"
    "while True: s.recv(65536)\n"
)
GOAL = 0.05


@dataclass
class Runs:
    cpu_us: list[float] = field(default_factory=list)  # per tick
    wall_us: list[float] = field(default_factory=list)
    osc_us: list[float] = field(default_factory=list)  # OSC work inside the loop, per tick
    send_us: list[float] = field(default_factory=list)  # of which the sockets' sends
    ticks: int = 0
    sent: int = 0
    errors: int = 0


def _timed(obj: object, name: str, spent: list[float]) -> None:
    """Wrap obj.name so its time adds up in spent[0] (the bench's instrument)."""
    inner = getattr(obj, name)

    def wrapper(*args: object) -> object:
        t0 = time.thread_time()  # CPU time: a wait for a core is not the call's cost
        try:
            return inner(*args)
        finally:
            spent[0] += time.thread_time() - t0

    setattr(obj, name, wrapper)


def one_run(args: list[str], runs: Runs) -> None:
    show = open_show(plan_show(run_config(build_parser().parse_args(args))), lambda _s: None)
    runner, spent, sending = show.runner, [0.0], [0.0]
    remote = runner.remote  # the show closes it (and lets go of it) at its end
    if remote is not None:
        for name in ("send_frame", "send_events", "take"):
            _timed(remote, name, spent)
        _timed(remote.sender, "send", sending)  # type: ignore[attr-defined]
    c0, w0 = time.process_time(), time.perf_counter()
    results = show.run()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    if "--display" in args and args[args.index("--display") + 1] == "none":
        ticks = round(results[-1].t_end_s * 50) + 1  # one trace frame a tick
    else:
        ticks = len(runner.rec.stats.times_ms)  # one picture frame a tick
    if remote is not None:
        c = remote.counters()
        runs.sent += c.sent
        runs.errors += c.send_errors
    runs.cpu_us.append(cpu / ticks * 1e6)
    runs.wall_us.append(wall / ticks * 1e6)
    runs.osc_us.append(spent[0] / ticks * 1e6)
    runs.send_us.append(sending[0] / ticks * 1e6)
    runs.ticks = ticks


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="headless rounds (7)")
    ap.add_argument("--picture-rounds", type=int, default=4, help="rounds with a picture (4)")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite perf/README.md")
    args = ap.parse_args(argv)
    from oomphony.picture import display

    display.DEFAULT_WINDOW = (1280, 720)
    drain = subprocess.Popen([sys.executable, "-c", DRAIN], stdout=subprocess.PIPE, text=True)
    load_start = os.getloadavg()
    try:
        assert drain.stdout is not None
        port = int(drain.stdout.readline())
        dead = free_port()
        live_out = ["--osc-out", f"127.0.0.1:{port}"]
        configs = {
            "headless": (HEADLESS, live_out, args.rounds),
            "headless, receiver gone": (HEADLESS, ["--osc-out", f"127.0.0.1:{dead}"], args.rounds),
            "with a picture (1280×720, dummy driver)": (PICTURE, live_out, args.picture_rounds),
        }
        base: dict[str, Runs] = {"headless": Runs(), "picture": Runs()}
        with_osc: dict[str, Runs] = {name: Runs() for name in configs}
        for r in range(max(args.rounds, args.picture_rounds)):
            for name, (show_args, osc, rounds) in configs.items():
                if r >= rounds:
                    continue
                key = "picture" if show_args is PICTURE else "headless"
                pair = [(base[key], show_args), (with_osc[name], [*show_args, *osc])]
                if key == "headless" and name != "headless":
                    pair = pair[1:]  # one baseline per round is enough for the headless rows
                for runs, run_args in pair if r % 2 == 0 else reversed(pair):
                    one_run(run_args, runs)
                print(f"round {r + 1}: {name} done", flush=True)
    finally:
        drain.kill()
        drain.wait()
    load_end = os.getloadavg()

    rows, verdicts = [], []
    for name, (show_args, _osc, _rounds) in configs.items():
        b = base["picture" if show_args is PICTURE else "headless"]
        o = with_osc[name]
        cpu_b, cpu_o, osc = med(b.cpu_us), med(o.cpu_us), med(o.osc_us)
        wall = f"{med(b.wall_us):.0f} / {med(o.wall_us):.0f}" if show_args is HEADLESS else "—"
        share_diff = (cpu_o - cpu_b) / cpu_b
        share_work = osc / cpu_b
        rows.append(
            f"| {name} | {len(o.cpu_us)} | {o.ticks} | {cpu_b:.1f} | {cpu_o:.1f} | "
            f"{share_diff * 100:+.1f} % | {wall} | {osc:.1f} | {med(o.send_us):.1f} | "
            f"**{share_work * 100:.1f} %** |"
        )
        ok = share_work <= GOAL
        if o.errors:
            verdicts.append(f"{name}: {o.errors} of {o.sent + o.errors} sends failed, counted")
        verdicts.append(
            f"{name}: OSC work {share_work * 100:.1f} % of a tick "
            f"(goal ≤ 5 % {'met' if ok else 'not met'})"
        )
    text = "\n".join(
        [
            "Per tick, medians over the rounds; each round runs every row's show with and "
            "without `--osc-out`, order alternating. CPU µs = the process's CPU time ÷ ticks; "
            "OSC work = CPU time inside the loop's OSC calls ÷ ticks; its share is of the tick "
            "without OSC (the difference column is the same figure measured the noisy way, "
            "one run against another).",
            "",
            "| configuration | rounds | ticks per run | tick CPU µs without | with | difference "
            "| tick wall µs without / with | OSC work µs per tick | of which the sends µs "
            "| OSC work ÷ tick |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            "Verdict: " + "; ".join(verdicts) + ".",
            "",
            f"Machine: {platform.release()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}; load average "
            f"{load_start[0]:.1f} at the start, {load_end[0]:.1f} / {load_end[1]:.1f} / "
            f"{load_end[2]:.1f} (1/5/15 min) at the end (a machine shared with other work).",
            "",
            "Command: `.venv/bin/python perf/bench_osc.py "
            f"--rounds {args.rounds} --picture-rounds {args.picture_rounds}`.",
        ]
    )
    print(text)
    if not args.no_readme:
        update_section("osc", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
