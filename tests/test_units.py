"""Sizes and rates as people type them (oomphony.units): tables and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomphony.errors import UsageError
from oomphony.units import GiB, KiB, MiB, format_size, parse_rate, parse_size, parse_swap

BINARY = {"": 1, "b": 1, "k": KiB, "kib": KiB, "m": MiB, "mib": MiB, "g": GiB, "gib": GiB}
BINARY |= {"t": 1024 * GiB, "tib": 1024 * GiB}
DECIMAL = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
UNITS = BINARY | DECIMAL
EXACT = 2**53  # a float holds every integer up to here; parse_size goes through float


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("256MiB", 256 * MiB),
        ("1GiB", GiB),
        ("1.5G", GiB + GiB // 2),
        (".5G", GiB // 2),
        ("1.", 1),
        ("4096", 4096),
        ("0", 0),
        ("3B", 3),
        ("4k", 4 * KiB),
        ("1 GiB", GiB),
        ("  2M  ", 2 * MiB),
        ("10MB", 10 * 10**6),
        ("1kb", 1000),
        ("1T", 1024 * GiB),
        ("2gB", 2 * 10**9),
    ],
)
def test_parse_size_table(text: str, expected: int) -> None:
    assert parse_size(text) == expected


BAD_SIZES = ["", "   ", "abc", "-1G", "1.2.3G", "1 XiB", "1e9", "inf", "nan", "G", "1G/s"]
BAD_SIZES += ["1_000", "8888888T"]  # the last is over 2^62 bytes


@pytest.mark.parametrize("text", BAD_SIZES)
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_size(text, what="--memory")
    message = str(info.value)
    assert "--memory" in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50MiB/s", 50.0 * MiB),
        ("50MiB", 50.0 * MiB),
        ("1.5G/s", 1.5 * GiB),
        (" 2 M/s ", 2.0 * MiB),
        ("1/s", 1.0),
        ("8kb/S", 8000.0),
    ],
)
def test_parse_rate_table(text: str, expected: float) -> None:
    got = parse_rate(text)
    assert isinstance(got, float) and got == expected


@pytest.mark.parametrize("text", ["0/s", "0", "0.0MiB/s", "fast", "/s", "-5MiB/s", "5MiB/h", ""])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_rate(text, what="rate")
    assert str(info.value).startswith("rate ") and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("n_b", "expected"),
    [
        (None, "—"),
        (0, "0 B"),
        (12, "12 B"),
        (1023, "1023 B"),
        (KiB, "1.0 KiB"),
        (64 * KiB, "64 KiB"),
        (192 * MiB, "192 MiB"),
        (GiB + GiB // 2, "1.5 GiB"),
        (9.96 * MiB, "10.0 MiB"),
    ],
)
def test_format_size_table(n_b: float | None, expected: str) -> None:
    assert format_size(n_b) == expected


# --- properties -------------------------------------------------------------------------


def _case(draw: st.DrawFn, unit: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in unit)


@st.composite
def typed_sizes(draw: st.DrawFn) -> tuple[str, int]:
    """A size as someone might type it (integer count, any unit, any case, spaces), and its
    value in bytes."""
    unit = draw(st.sampled_from(sorted(UNITS)))
    n = draw(st.integers(0, EXACT // UNITS[unit]))
    spaces = draw(st.sampled_from(["", " ", "  "]))
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return f"{pad}{n}{spaces}{_case(draw, unit)}{pad}", n * UNITS[unit]


@given(typed_sizes())
def test_parse_size_property_integer_counts(case: tuple[str, int]) -> None:
    text, expected = case
    assert parse_size(text) == expected


@given(st.integers(0, 10**6), st.integers(0, 999), st.sampled_from(["M", "MiB", "G", "GiB", "k"]))
def test_parse_size_property_decimals(whole: int, frac: int, unit: str) -> None:
    factor = UNITS[unit.lower()]
    got = parse_size(f"{whole}.{frac:03d}{unit}")
    exact = (whole * 1000 + frac) * factor / 1000
    assert exact - 1 <= got <= exact  # truncated to whole bytes, never rounded up
    assert parse_size(f"{whole}{unit}") <= got <= parse_size(f"{whole + 1}{unit}")


@given(st.text(max_size=20))
def test_parse_size_anything_is_bytes_or_usage_error(text: str) -> None:
    try:
        value = parse_size(text)
    except UsageError as err:
        assert "\n" not in str(err)  # one line: the text is shown by repr
    else:
        assert isinstance(value, int) and 0 <= value <= 2**62


@given(typed_sizes())
def test_parse_rate_property_matches_size(case: tuple[str, int]) -> None:
    text, expected = case
    if expected == 0:
        with pytest.raises(UsageError):
            parse_rate(text + "/s")
    else:
        assert parse_rate(text + "/s") == parse_rate(text) == float(expected)


@given(st.integers(0, 2**50))
def test_format_size_round_trips_within_five_percent(n_b: int) -> None:
    shown = format_size(n_b)
    back = parse_size(shown)
    assert abs(back - n_b) <= 0.05 * n_b + 1
    if n_b < 2**43:
        assert len(shown) <= 9  # short: it goes on a HUD


@given(st.integers(0, 2**50), st.integers(0, 2**50))
def test_format_size_is_monotonic_in_unit_steps(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert parse_size(format_size(lo)) <= parse_size(format_size(hi))


# --- the cage's swap: one grammar on the command line and in a setlist ----------------

SWAP_WORDS = [
    ("none", 0),
    ("None", 0),
    ("0", 0),
    ("0MiB", 0),
    ("0.0 GiB", 0),
    ("auto", None),
    ("1MiB", MiB),
    ("64MiB", 64 * MiB),
    ("1.5G", GiB + GiB // 2),
]
BAD_SWAP = ["12", "1023KiB", "-64MiB", "lots", "", "nothing", "0.5MiB", "64MiB/s"]


def _swap_from_cli(text: str) -> int | None:
    from oomphony.cli.command import build_parser

    return build_parser().parse_args(["run", f"--swap={text}"]).swap


def _swap_from_setlist(text: str) -> int | None:
    from oomphony.show.setlist import parse_setlist

    toml = f'[show]\ntitle = "t"\nswap = "{text}"\n[[act]]\nname = "kill"\ncaption = "c"\n'
    return parse_setlist(toml + 'until = "oom_kill"\n', where="s.toml", name="s").swap_b


@pytest.mark.parametrize(("text", "expected"), SWAP_WORDS)
def test_swap_means_the_same_on_the_command_line_and_in_a_setlist(
    text: str, expected: int | None
) -> None:
    assert parse_swap(text) == expected
    assert _swap_from_cli(text) == expected
    assert _swap_from_setlist(text) == expected


@pytest.mark.parametrize("text", BAD_SWAP)
def test_swap_refused_the_same_way_in_both_places(text: str) -> None:
    from oomphony.errors import SetlistError

    with pytest.raises(UsageError, match=r'^--swap must be "auto", "none" \(or 0\)'):
        parse_swap(text)
    with pytest.raises(UsageError, match=r"^--swap must be"):
        _swap_from_cli(text)
    with pytest.raises(SetlistError, match=r"^s.toml:3: 'swap' must be \"auto\", \"none\""):
        _swap_from_setlist(text)


@given(st.integers(min_value=0, max_value=2**40))
def test_swap_is_a_size_or_none(n_b: int) -> None:
    if n_b == 0:
        assert parse_swap(str(n_b)) == 0
    elif n_b < MiB:
        with pytest.raises(UsageError):
            parse_swap(str(n_b))
    else:
        assert parse_swap(str(n_b)) == parse_size(str(n_b)) == n_b
