"""What `run` and `record` print when their shows are over (stdout)."""

from __future__ import annotations

from typing import Any

from oomphony.frame import ActEvent, Failure, OomKill
from oomphony.show.assembly import Show
from oomphony.show.runner import ShowResult
from oomphony.units import format_size


def print_run(results: list[ShowResult], show: Show) -> None:
    """Each show: its backend, length, end, acts and kills; then the trace written."""
    backend = show.backend
    plan = show.plan
    if plan.setlist_from_trace and plan.setlist is not None:
        print(f"setlist: {plan.setlist.name} (recorded in the trace)")
    for n, res in enumerate(results, start=1):
        acts = [e.name for e in res.events if isinstance(e, ActEvent) and not e.recognised]
        kills = [e for e in res.events if isinstance(e, OomKill)]
        head = f"show {n}" if len(results) > 1 else "show"
        print(f"{head} ({backend}): {res.t_end_s:.1f} s, ended: {res.reason}")
        if acts:
            print(f"  acts: {' → '.join(acts)}")
        for k in kills:
            if k.source == "sim":  # the simulator's pid and line are invented: say so
                print(f"  simulated OOM kill at {k.t_s:.2f} s (no real process was killed)")
                if k.kernel_line:
                    print(f"  the kernel would print: {k.kernel_line}")
                continue
            recorded = " (recorded)" if backend == "replay" else ""
            who = "pid unknown (only the counter rose)"
            if k.pid is not None:
                who = f"pid {k.pid} ({k.comm or 'unknown'})"
            print(f"  OOM kill at {k.t_s:.2f} s{recorded}: {who} (seen by {k.source})")
            if k.kernel_line:
                print(f"  kernel: {k.kernel_line}")
        print_failures([e for e in res.events if isinstance(e, Failure)])
    print_protections(show.runner.rec.protections)
    osc = show.osc_counts
    if osc is not None:
        print(
            f"osc: {osc.sent} datagrams sent ({osc.send_errors} failed), {osc.cues} cues, "
            f"{osc.ignored} ignored"
        )
    if plan.config.record_path:
        print(f"trace: {plan.config.record_path}")


def print_protections(protections: dict | None) -> None:
    """--global: what protected the show (show/shield.py), one line."""
    from oomphony.show.shield import protections_line

    if protections:
        print(f"  protected: {protections_line(protections)}")


def print_failures(failures: list[Failure]) -> None:
    """Loudly, on stdout and stderr: the show never hides a failure."""
    import sys

    for f in failures:
        print(f"  FAILURE at {f.t_s:.2f} s: {f.detail}")
        if f.kernel_line:
            print(f"  kernel: {f.kernel_line}")
        print(f"oomphony: FAILURE: {f.detail}", file=sys.stderr)


def _cage_desc(memory_b: int | None, swap_b: int | None) -> str:
    if not memory_b:
        return "none (--global)"
    return f"{format_size(memory_b)} + {format_size(swap_b or 0)} swap"


def print_summary(path: str, audio: Any) -> None:
    """`record`'s summary, read back from the trace it wrote (with --global, what
    protected the show and any other process the kernel killed)."""
    from oomphony.trace.reader import read_trace
    from oomphony.trace.summary import summarise

    trace = read_trace(path)
    cage = trace.header.get("cage") or {}
    summary = summarise(trace)
    print(f"trace: {path}   cage: {_cage_desc(cage.get('memory_b'), cage.get('swap_b'))}")
    setlist = trace.header.get("setlist")
    if isinstance(setlist, dict) and setlist.get("name"):
        print(f"setlist: {setlist['name']}")
    for line in summary.lines():
        print(line)
    print_protections(trace.header.get("protections"))
    print_failures([e for e in trace.events if isinstance(e, Failure)])
    if audio is not None:
        underflows, worst = audio.counters()
        errors = audio.callback_errors()
        print(
            f"  audio: {audio.status}; {underflows} underflows, worst callback {worst:.2f} ms"
            + (f", {errors} failed callbacks" if errors else "")
        )
