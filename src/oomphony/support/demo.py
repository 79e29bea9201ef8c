"""Synthetic frames and cues for tests, benchmarks and looking at the picture without a
kernel: a caged show whose numbers are given directly. Pure, no pygame."""

from __future__ import annotations

from oomphony.cues import Act, Cues
from oomphony.frame import AllocState, CageMem, MachineMem, MemoryFrame, OomKill, Pressure, Rates
from oomphony.units import GiB, MiB

KERNEL_LINE = (
    "Memory cgroup out of memory: Killed process {pid} (python) total-vm:398448kB, "
    "anon-rss:261296kB, file-rss:18160kB, shmem-rss:0kB, UID:0 pgtables:664kB "
    "oom_score_adj:1000"
)


def caged_frame(
    t_s: float,
    *,
    limit_b: int = 256 * MiB,
    swap_limit_b: int = 256 * MiB,
    cache_b: int = 0,
    alloc_b: int = 0,
    alloc_swap_b: int = 0,
    sleeper_b: int = 0,
    sleeper_swap_b: int = 0,
    other_b: int = 0,
    rate_bps: float = 0.0,
    pid: int = 4242,
    alive: bool = True,
    psi_some: float | None = 0.0,
    psi_full: float | None = 0.0,
    swapout_bps: float | None = 0.0,
    swapin_bps: float | None = 0.0,
    majfault_ps: float | None = 0.0,
) -> MemoryFrame:
    """A frame of a cage holding the given amounts (bytes)."""
    usage = cache_b + alloc_b + sleeper_b + other_b
    swap = alloc_swap_b + sleeper_swap_b
    machine = MachineMem(
        total_b=24 * GiB,
        free_b=20 * GiB,
        available_b=22 * GiB,
        cache_b=2 * GiB,
        anon_b=1 * GiB,
        swap_total_b=max(swap_limit_b, 1 * GiB) if swap_limit_b else 0,
        swap_free_b=max(swap_limit_b, 1 * GiB) - swap if swap_limit_b else 0,
    )
    cage = CageMem(
        limit_b=limit_b,
        swap_limit_b=swap_limit_b,
        usage_b=usage,
        cache_b=cache_b,
        anon_b=alloc_b + sleeper_b + other_b,
        swap_b=swap,
        oom_kills=0,
    )
    alloc = AllocState(pid, alive, alloc_b + alloc_swap_b, alloc_b, alloc_swap_b, rate_bps)
    sleeper = (
        AllocState(pid + 1, True, sleeper_b + sleeper_swap_b, sleeper_b, sleeper_swap_b, 0.0)
        if sleeper_b or sleeper_swap_b
        else None
    )
    return MemoryFrame(
        t_s=t_s,
        machine=machine,
        cage=cage,
        alloc=alloc,
        rates=Rates(swapout_bps, swapin_bps, majfault_ps),
        psi=Pressure(psi_some, psi_full),
        sleeper=sleeper,
    )


def kill_cues(t_s: float, pid: int, *, kernel_line: str | None = "", comm: str = "python") -> Cues:
    """Cues of the kill act; `kernel_line=""` uses the kernel's usual words for `pid`."""
    line = KERNEL_LINE.format(pid=pid) if kernel_line == "" else kernel_line
    kill = OomKill(t_s, pid, comm, 255 * MiB, "sim", line)
    return Cues(
        t_s=t_s,
        act=Act.KILL,
        title="The OOM killer",
        caption="Out of RAM and out of swap: the kernel killed the hog.",
        kill=kill,
        kill_t_s=t_s,
    )


ACT_TEXT = {
    Act.OVERTURE: ("Memory fills up", "A program is eating memory, a little more every second."),
    Act.CACHE: (
        "The cache gives way",
        "Files the kernel kept in spare memory are thrown out to make room for the hog.",
    ),
    Act.SWAP: (
        "Pushed out to swap",
        "RAM is full: the kernel moves the least-used pages out to the swap area on disk.",
    ),
    Act.EPILOGUE: ("Aftermath", "The hog is gone; its memory is free again."),
}


def act_cues(t_s: float, act: Act, *, explanation: str = "", preset: str = "stage") -> Cues:
    title, caption = ACT_TEXT.get(act, ("", ""))
    return Cues(
        t_s=t_s,
        act=act,
        title=title,
        caption=caption,
        explanation=explanation,
        picture_preset=preset,
    )
