"""Where a key sits in a TOML file: tomllib gives values, not line numbers.

A line scan good enough for error messages: table headers (`[show]`, `[[act]]`) and
`key =` lines, skipping the inside of multi-line strings. A key it cannot place falls back
to its table's header line, then to line 1, so an error always names a line.
"""

from __future__ import annotations

import re

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]*?)\s*\]\]?")
_KEY_RE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*[.=]""")


class LineMap:
    """Lines of `[table]` / `[[array]]` headers and of the keys under them."""

    def __init__(self, text: str) -> None:
        self.n_lines = max(1, text.count("\n") + 1)
        self._headers: dict[tuple[str, int], int] = {}
        self._keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        table, index = "", 0
        in_multiline: str | None = None
        for lineno, line in enumerate(text.split("\n"), start=1):
            if in_multiline is not None:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER_RE.match(line)
            if header:
                table = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    index = counts.get(table, 0)
                    counts[table] = index + 1
                else:
                    index = 0
                self._headers.setdefault((table, index), lineno)
                continue
            key = _KEY_RE.match(line)
            if key:
                self._keys.setdefault((table, index, key.group(1).strip("\"'")), lineno)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
                    break

    def header(self, table: str, index: int = 0) -> int:
        return self._headers.get((table, index), 1)

    def key(self, table: str, index: int, key: str) -> int:
        line = self._keys.get((table, index, key))
        return line if line is not None else self.header(table, index)
