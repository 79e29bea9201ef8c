"""The documentation against the code: the README's controls, flags and exit statuses,
every setlist key, every trace field a real run writes, and no citation of a file outside
the repository."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pygame
import pytest

from oomphony.cli import command as cli
from oomphony.cues import Act
from oomphony.picture import stage as picture_stage
from oomphony.picture.keys import CONTROLS, map_key
from oomphony.show.setlist import ACT_KEYS, SHOW_KEYS, parse_setlist
from oomphony.show.values import METRICS
from oomphony.sound.presets import PRESETS as SOUND_PRESETS
from oomphony.trace.format import _EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SETLISTS_MD = (ROOT / "docs" / "setlists.md").read_text()
TRACE_MD = (ROOT / "docs" / "trace-format.md").read_text()
ARCH_MD = (ROOT / "docs" / "architecture.md").read_text()


def section(text: str, heading: str) -> str:
    """The text under a Markdown heading, up to the next heading of the same or higher
    level."""
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
    assert m, f"no heading {heading!r}"
    level = len(m.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, m.end())
    return text[m.end() : end.start() if end else len(text)]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every Markdown table in `text`, as lists of cells."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.fullmatch(r"\|[\s\-:|]+\|", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        rows.append(cells)
    return rows


def code_spans(text: str) -> set[str]:
    """`inline code` outside fenced blocks."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return set(re.findall(r"`([^`\n]+)`", text))


# --- the controls table ------------------------------------------------------------------

# How the README and the help overlay write a key → the pygame key code.
GLYPHS = {"Space": pygame.K_SPACE, "↑": pygame.K_UP, "↓": pygame.K_DOWN,
          "→": pygame.K_RIGHT, "←": pygame.K_LEFT, "Esc": pygame.K_ESCAPE,
          "?": pygame.K_QUESTION}  # fmt: skip


def key_codes(cell: str) -> set[int]:
    """'Q / Esc' → {K_q, K_ESCAPE}; '? or F1' → {K_QUESTION, K_F1}."""
    codes = set()
    for name in re.split(r"\s*(?:/|\bor\b)\s*", cell.strip()):
        if name in GLYPHS:
            codes.add(GLYPHS[name])
        elif re.fullmatch(r"[A-Z]", name):
            codes.add(getattr(pygame, f"K_{name.lower()}"))
        elif re.fullmatch(r"F\d+", name):
            codes.add(getattr(pygame, f"K_{name}"))
        else:
            raise AssertionError(f"unknown key name {name!r} in {cell!r}")
    return codes


def every_mapped_key() -> set[int]:
    codes = {v for k, v in vars(pygame).items() if k.startswith("K_") and isinstance(v, int)}
    return {c for c in codes if map_key(c) is not None}


def test_readme_controls_table_is_the_key_map() -> None:
    rows = table_rows(section(README, "Live controls"))
    assert rows[0] == ["key", "action"]
    documented: set[int] = set()
    overlay = {frozenset(key_codes(k)): text for k, text in CONTROLS}
    for cell, action_text in rows[1:]:
        codes = key_codes(cell)
        assert None not in {map_key(c) for c in codes}, f"{cell}: not a key of the show"
        # the help overlay says the same (the README may say more)
        assert frozenset(codes) in overlay, f"{cell}: not in the ? overlay"
        assert action_text.startswith(overlay[frozenset(codes)]), (cell, action_text)
        documented |= codes
    assert documented == every_mapped_key(), "a key the show reacts to is not in the README"


# --- the command line ----------------------------------------------------------------------


def parser_flags() -> dict[str, set[str]]:
    """Each command's option strings ('' for oomphony's own), without -h/--help."""
    parser = cli.build_parser()
    out: dict[str, set[str]] = {}

    def flags(p) -> set[str]:
        return {s for a in p._actions for s in a.option_strings} - {"-h", "--help"}

    out[""] = flags(parser)
    sub = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    for name, p in sub.choices.items():
        out[name] = flags(p)
    return out


def readme_flags() -> dict[str, set[str]]:
    """The flags in the first column of each options table under "Command line"."""
    text = section(README, "Command line")
    parts = re.split(r"^### (.*)$", text, flags=re.M)
    out: dict[str, set[str]] = {"": set()}
    blocks = [("", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
    for heading, body in blocks:
        commands = re.findall(r"`oomphony (\w+)", heading) or [""]
        flag = r"(?<![\w-])(--?[a-z][\w-]*)"
        found = {f for row in table_rows(body) for f in re.findall(flag, row[0])}
        for command in commands:
            out.setdefault(command, set()).update(found - {"-h", "--help"})
    return out


def test_every_flag_is_in_the_readme_and_every_documented_flag_exists() -> None:
    want, have = parser_flags(), readme_flags()
    assert set(have) == set(want), "a command without its own heading under 'Command line'"
    for command, flags in want.items():
        assert have[command] == flags, (
            f"oomphony {command}: missing from the README {sorted(flags - have[command])}, "
            f"not an option {sorted(have[command] - flags)}"
        )


def test_exit_statuses_agree() -> None:
    code = {cli.EXIT_OK, cli.EXIT_FAIL, cli.EXIT_USAGE, cli.EXIT_INTERRUPTED}
    readme = {int(r[0]) for r in table_rows(section(README, "Exit status"))[1:]}
    arch = {int(r[0]) for r in table_rows(section(ARCH_MD, "Errors and exit status"))[1:]}
    assert readme == code and arch == code


def test_readme_links_the_docs() -> None:
    for name in ("setlists.md", "trace-format.md", "architecture.md"):
        assert f"(docs/{name})" in README
    for target in re.findall(r"\]\(([^)#]+\.md)", SETLISTS_MD + TRACE_MD + ARCH_MD):
        assert (ROOT / "docs" / target).resolve().exists(), target


# --- setlists ------------------------------------------------------------------------------


def test_every_setlist_key_is_documented() -> None:
    show_doc = code_spans(" ".join(r[0] for r in table_rows(section(SETLISTS_MD, "`[show]`"))))
    act_doc = code_spans(" ".join(r[0] for r in table_rows(section(SETLISTS_MD, "`[[act]]`"))))
    assert set(SHOW_KEYS) <= show_doc, set(SHOW_KEYS) - show_doc
    assert set(ACT_KEYS) <= act_doc, set(ACT_KEYS) - act_doc
    # and nothing is documented as a [show] key that the loader would refuse
    assert show_doc <= set(SHOW_KEYS), show_doc - set(SHOW_KEYS)


def test_every_trigger_metric_kind_and_preset_is_documented() -> None:
    spans = code_spans(SETLISTS_MD)
    assert set(METRICS) <= spans, set(METRICS) - spans
    assert {a.value for a in Act} <= spans
    assert {"oom_kill", "kill", "key"} <= {s.strip('"') for s in spans}
    assert set(SOUND_PRESETS) <= spans and set(picture_stage.PRESETS) <= spans


def test_the_complete_example_loads_and_uses_every_key() -> None:
    m = re.search(r"## A complete example\s+```toml\n(.*?)```", SETLISTS_MD, re.S)
    assert m
    text = m.group(1)
    sl = parse_setlist(text, where="docs/setlists.md", name="example")
    assert sl.acts
    data = tomllib.loads(text)
    assert set(data["show"]) == set(SHOW_KEYS)
    assert {k for act in data["act"] for k in act} == set(ACT_KEYS)


# --- the trace format ----------------------------------------------------------------------


def _keys(obj, out: set[str]) -> set[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(k)
            _keys(v, out)
    return out


@pytest.fixture(scope="module")
def sim_trace(tmp_path_factory) -> list[dict]:
    """A real sim run with a sleeper, a kill and a WAV: every line type the writer has."""
    d = tmp_path_factory.mktemp("trace")
    args = ["run", "rearrange", "--backend", "sim", "--speed", "50", "--display", "none",
            "--no-audio", "--audio-out", str(d / "t.wav"),
            "--record", str(d / "t.jsonl")]  # fmt: skip
    assert cli.main(args) == 0
    return [json.loads(line) for line in (d / "t.jsonl").read_text().splitlines()]


def test_every_trace_field_a_run_writes_is_documented(sim_trace: list[dict]) -> None:
    spans = code_spans(TRACE_MD)
    keys = set().union(*(_keys(obj, set()) for obj in sim_trace))
    assert keys <= spans, f"undocumented trace keys: {sorted(keys - spans)}"
    events = {obj["event"] for obj in sim_trace if "event" in obj}
    assert {"oom_kill", "allocator_exit", "act", "audio", "end"} <= events
    values = {str(obj[k]) for obj in sim_trace if "event" in obj
              for k in ("source", "how", "reason", "kind") if k in obj}  # fmt: skip
    assert values <= spans, f"undocumented values: {sorted(values - spans)}"


def test_every_event_type_the_code_knows_has_a_section() -> None:
    documented = set(re.findall(r"^### `(\w+)`", TRACE_MD, re.M))
    assert documented == set(_EVENT_TYPES)


# --- nothing outside the repository ------------------------------------------------------


def test_no_source_file_cites_design_md() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in sorted((ROOT / "src").rglob("*"))
        if p.is_file() and p.suffix in (".py", ".toml", ".md", ".txt")
        for n, line in enumerate(p.read_text(errors="replace").splitlines(), start=1)
        if "DESIGN.md" in line
    ]
    assert offenders == []
