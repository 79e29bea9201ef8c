"""The kernel's OOM-kill lines, parsed: the "Killed process" line, the `oom-kill:` context
line, and a /dev/kmsg record's message. Pure functions over text."""

from __future__ import annotations

import re

_KILLED_RE = re.compile(
    r"(?P<kind>Memory cgroup out of memory|Out of memory[^:]*): Killed process (?P<pid>\d+) "
    r"\((?P<comm>.*)\)(?=[ ,]|$)(?P<rest>.*)$"
)
_KB_FIELD_RE = re.compile(r"(total-vm|anon-rss|file-rss|shmem-rss|pgtables):\s*(\d+)kB")
_ADJ_RE = re.compile(r"oom_score_adj:\s*(-?\d+)")


def parse_kill_line(line: str) -> dict | None:
    """The kernel's "Killed process" line as a dict (pid, comm, anon_rss_b, total_vm_b,
    file_rss_b, shmem_rss_b, oom_score_adj, memcg, line); None for any other line."""
    m = _KILLED_RE.search(line)
    if m is None:
        return None
    sizes = {k.replace("-", "_") + "_b": int(v) * 1024 for k, v in _KB_FIELD_RE.findall(line)}
    adj = _ADJ_RE.search(m.group("rest"))
    return {
        "pid": int(m.group("pid")),
        "comm": m.group("comm"),
        "anon_rss_b": sizes.get("anon_rss_b"),
        "total_vm_b": sizes.get("total_vm_b"),
        "file_rss_b": sizes.get("file_rss_b"),
        "shmem_rss_b": sizes.get("shmem_rss_b"),
        "oom_score_adj": int(adj.group(1)) if adj else None,
        "memcg": m.group("kind").startswith("Memory cgroup"),
        "line": line[m.start() :].strip(),
    }


def parse_context_line(line: str) -> dict[str, str] | None:
    """The `oom-kill:constraint=…,task_memcg=…,task=…,pid=…,uid=…` line as a dict."""
    idx = line.find("oom-kill:")
    if idx < 0:
        return None
    out = {}
    for part in line[idx + len("oom-kill:") :].strip().split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out if "pid" in out else None


def kmsg_message(record: str) -> str:
    """The message of a /dev/kmsg record `pri,seq,usec,flags;message\\n KEY=value…`."""
    head, sep, rest = record.partition(";")
    text = rest if sep and "," in head else record
    return text.split("\n", 1)[0]
