"""Keep each benchmark's latest figures in its own section of perf/README.md."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

README = Path(__file__).with_name("README.md")


def update_section(name: str, text: str) -> None:
    """Replace (or append) the block between `<!-- bench:NAME -->` markers."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n_Last run: {date.today().isoformat()}_\n\n{text.strip()}\n{end}"
    current = README.read_text() if README.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(current):
        current = pattern.sub(lambda _m: block, current)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    README.write_text(current)
