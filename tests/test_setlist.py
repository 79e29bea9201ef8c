"""Setlists: the bundled ones load, bad files name file, line and expectation (every
mistake of a file in one run, by line), preset names come from the real registries, and
no input whatsoever makes the loader raise anything but SetlistError."""

from __future__ import annotations

import re
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomphony.cli.command import main
from oomphony.cues import PICTURE_PRESETS, Act
from oomphony.errors import SetlistError
from oomphony.picture.stage import PRESETS as STAGE_PRESETS
from oomphony.show.library import bundled_names, bundled_setlists, load_setlist, parse_setlist_bytes
from oomphony.show.setlist import ACT_KEYS, SetlistProblems, parse_setlist
from oomphony.sound.output import AudioOutput
from oomphony.sound.presets import PRESET_BY_NAME, PRESETS
from oomphony.units import MiB

BUNDLED = ["classroom", "kiosk", "rearrange", "speedrun", "talk"]

GOOD = textwrap.dedent(
    """\
    [show]
    title = "T"
    description = "a test show"
    memory = "256MiB"
    swap = "none"

    [[act]]
    name = "overture"
    caption = "filling"
    fill_cache = "40%"
    rate = "50MiB/s"
    until = ["used > 95%", "30s"]

    [[act]]
    name = "the cache gives way"
    kind = "cache"
    caption = "going"
    ramp = { from = "1%/s", to = "5%/s", over = 20 }
    until = "cache < 5%"
    timeout = 60

    [[act]]
    name = "kill"
    caption = "the end"
    sleeper = "32MiB"
    wake = true
    release = true
    until = "oom_kill"
    """
)


def test_bundled_names_and_descriptions() -> None:
    listed = bundled_setlists()
    assert set(BUNDLED) <= {name for name, _ in listed}
    for name, description in listed:
        assert description and "\n" not in description, name


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_setlists_load(name: str) -> None:
    sl = load_setlist(name)
    assert sl.name == name
    assert sl.path == f"setlists/{name}.toml"
    assert sl.acts and all(a.caption for a in sl.acts)
    kinds = [a.kind for a in sl.acts]
    assert Act.KILL in kinds
    order = list(Act)
    assert [order.index(k) for k in kinds] == sorted(order.index(k) for k in kinds), kinds


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_presets_open(name: str, tmp_path) -> None:
    """Every preset a bundled setlist names is one the sound and the picture really have:
    the sound output opens with it (a WAV sink, no device) and the stage keeps it."""
    sl = load_setlist(name)
    sounds = {sl.sound_preset} | {a.sound_preset for a in sl.acts if a.sound_preset}
    pictures = {sl.picture_preset} | {a.picture_preset for a in sl.acts if a.picture_preset}
    assert pictures <= set(STAGE_PRESETS)
    for preset in sounds:
        out = AudioOutput.open(no_audio=True, wav_path=tmp_path / f"{preset}.wav", preset=preset)
        assert out.preset == preset
        out.close(0.0)


def test_kiosk_uses_the_booth_sound() -> None:
    kiosk = load_setlist("kiosk")
    assert (kiosk.sound_preset, kiosk.picture_preset) == ("booth", "stage")
    assert PRESET_BY_NAME["booth"].master < PRESET_BY_NAME["stage"].master


def test_picture_presets_are_the_stages() -> None:
    assert PICTURE_PRESETS == STAGE_PRESETS


@pytest.mark.parametrize(
    ("edit", "line", "expected"),
    [
        (('swap = "none"', 'swap = "none"\nsound = "kiosk"'), 6, "'sound' must be one of"),
        (('swap = "none"', 'swap = "none"\npicture = "kiosk"'), 6, "'picture' must be one of"),
        (('caption = "going"', 'caption = "going"\nsound = "disco"'), 18, "'sound' must be"),
        (('caption = "going"', 'caption = "going"\npicture = "booth"'), 18, "'picture' must"),
    ],
)
def test_unknown_presets_name_the_known_ones(
    edit: tuple[str, str], line: int, expected: str
) -> None:
    with pytest.raises(SetlistError) as err:
        parse_setlist(_replace_line(GOOD, *edit), where="p.toml", name="p")
    msg = str(err.value)
    assert msg.startswith(f"p.toml:{line}: {expected}"), msg
    known = PRESETS if "sound" in expected else PICTURE_PRESETS
    assert f"presets {', '.join(known)}, got" in msg, msg


@pytest.mark.parametrize("preset", PRESETS)
def test_every_sound_preset_is_accepted(preset: str) -> None:
    text = _replace_line(GOOD, 'swap = "none"', f'swap = "none"\nsound = "{preset}"')
    assert parse_setlist(text, where="p.toml", name="p").sound_preset == preset


@pytest.mark.parametrize("preset", PICTURE_PRESETS)
def test_every_picture_preset_is_accepted(preset: str) -> None:
    text = _replace_line(GOOD, 'caption = "going"', f'caption = "going"\npicture = "{preset}"')
    assert parse_setlist(text, where="p.toml", name="p").acts[1].picture_preset == preset


def test_bundled_flags() -> None:
    assert load_setlist("kiosk").loop is True
    assert load_setlist("talk").loop is False
    assert load_setlist("classroom").pause_between_acts is True
    rearrange = load_setlist("rearrange")
    assert any(a.sleeper is not None for a in rearrange.acts)
    assert any(a.wake for a in rearrange.acts)


def test_good_file_is_typed(tmp_path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    sl = load_setlist(str(path))
    assert (sl.name, sl.memory_b, sl.swap_b, sl.loop) == ("good", 256 * MiB, 0, False)
    overture, cache, kill = sl.acts
    assert overture.kind is Act.OVERTURE and overture.rate is not None
    assert overture.rate.value == 50 * MiB and not overture.rate.relative
    assert overture.fill_cache is not None and overture.fill_cache.resolve(1000) == 400
    assert overture.until.seconds == 30 and overture.until.conditions[0].metric == "used"
    assert cache.ramp is not None and cache.ramp.over_s == 20 and cache.timeout_s == 60
    assert cache.ramp.to_bps.relative and cache.ramp.to_bps.value == pytest.approx(0.05)
    assert kill.kind is Act.KILL and kill.until.on_kill and kill.wake and kill.release
    assert kill.release_amount is None and kill.sleeper is not None
    assert kill.sleeper.value == 32 * MiB
    assert (overture.line, cache.line, kill.line) == (7, 14, 22)


def _replace_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


BAD = [
    # (edit, line, expectation in the message)
    (
        ('rate = "50MiB/s"', 'rate = "fast"'),
        11,
        "'rate' must look like 50MiB/s or 2%/s, got \"fast\"",
    ),
    (('until = "cache < 5%"', 'until = "cache < lots"'), 19, "'until cache' must be a size"),
    (('until = "oom_kill"', 'until = "whenever"'), 28, "'until' must be seconds"),
    (("timeout = 60", "timeout = -3"), 20, "'timeout' must be a number of seconds"),
    (('kind = "cache"', 'kind = "intermission"'), 16, "'kind' must be one of"),
    (('caption = "going"', "caption = 7"), 17, "'caption' must be a non-empty string"),
    (('caption = "going"', 'capton = "going"'), 17, "unknown key 'capton' in act"),
    (('memory = "256MiB"', 'memory = "lots"'), 4, "'memory' must be \"auto\""),
    (('swap = "none"', "swap = 12"), 5, '\'swap\' must be "auto", "none"'),
    (("wake = true", 'wake = "yes"'), 26, "'wake' must be true or false"),
    (('fill_cache = "40%"', 'fill_cache = "140%"'), 10, "'fill_cache' must be a size"),
    (("over = 20 }", "over = 20, by = 1 }"), 18, "'ramp' must look like"),
    (('name = "kill"', 'name = "finale"'), 23, "act 'finale' needs a 'kind'"),
    (('until = "oom_kill"\n', ""), 22, "act 'kill' has no 'until'"),
    (('title = "T"', 'title = "T'), 2, "not valid TOML"),
    (("[show]", "[shw]"), 1, "unknown table or key 'shw'"),
    (('until = ["used > 95%", "30s"]', "until = []"), 12, "'until' must be seconds"),
    (('until = "cache < 5%"', 'until = "pressure > 3"'), 19, "pressure in 'until'"),
]


@pytest.mark.parametrize(("edit", "line", "expected"), BAD)
def test_bad_files_name_file_line_and_expectation(
    tmp_path, edit: tuple[str, str], line: int, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_replace_line(GOOD, *edit))
    with pytest.raises(SetlistError) as err:
        load_setlist(str(path))
    problems = getattr(err.value, "problems", (str(err.value),))
    assert any(p.startswith(f"{path}:{line}: ") and expected in p for p in problems), problems


FIVE_MISTAKES = _replace_line(
    _replace_line(
        _replace_line(
            _replace_line(
                _replace_line(GOOD, 'kind = "cache"', 'kind = "intermission"'),
                "wake = true",
                'wake = "yes"',
            ),
            'swap = "none"',
            'swap = "12"',
        ),
        'rate = "50MiB/s"',
        'rate = "fast"',
    ),
    "timeout = 60",
    "timeout = -3",
)
FIVE_EXPECTED = [
    (5, "'swap' must be"),
    (11, "'rate' must look like 50MiB/s"),
    (16, "'kind' must be one of"),
    (20, "'timeout' must be a number of seconds"),
    (26, "'wake' must be true or false"),
]


def test_every_mistake_in_one_run_sorted_by_line() -> None:
    with pytest.raises(SetlistProblems) as err:
        parse_setlist(FIVE_MISTAKES, where="f.toml", name="f")
    problems = err.value.problems
    assert [(int(p.split(":")[1]), p.split(": ", 1)[1]) for p in problems] == [
        (line, p.split(": ", 1)[1]) for (line, _), p in zip(FIVE_EXPECTED, problems, strict=True)
    ]
    for (line, expected), problem in zip(FIVE_EXPECTED, problems, strict=True):
        assert problem.startswith(f"f.toml:{line}: {expected}"), problem
    # one line where one line is the rule (`run`): the first, and how many more
    assert str(err.value).startswith(problems[0])
    assert f"and {len(problems) - 1} more" in str(err.value)


def test_check_prints_every_mistake_with_file_and_line(tmp_path, capsys) -> None:
    bad, good = tmp_path / "bad.toml", tmp_path / "good.toml"
    bad.write_text(FIVE_MISTAKES)
    good.write_text(GOOD)
    assert main(["check", str(bad), str(good)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert [ln.split(":")[2] for ln in lines] == [str(line) for line, _ in FIVE_EXPECTED]
    for (line, expected), printed in zip(FIVE_EXPECTED, lines, strict=True):
        assert printed.startswith(f"oomphony: {bad}:{line}: {expected}"), printed
    assert out == f"{good}: ok (3 acts)\n"


def test_description_is_optional() -> None:
    sl = parse_setlist(
        _replace_line(GOOD, 'description = "a test show"\n', ""), where="d", name="d"
    )
    assert sl.description == "" and sl.title == "T"


def test_bundled_error_is_named_like_the_package_file() -> None:
    bad = _replace_line(GOOD, 'rate = "50MiB/s"', 'rate = "fast"')
    with pytest.raises(
        SetlistError,
        match=r"^setlists/talk.toml:11: \'rate\' must look like "
        r'50MiB/s or 2%/s, got "fast"$',
    ):
        parse_setlist(bad, where="setlists/talk.toml", name="talk")


@pytest.mark.parametrize(
    ("text", "line"),
    [("", 1), ('[show]\ntitle = "x"\n', 3), ('[[act]]\nname = "overture"\n', 1)],
)
def test_missing_parts(text: str, line: int) -> None:
    with pytest.raises(SetlistError, match=rf"^f.toml:{line}: "):
        parse_setlist(text, where="f.toml", name="f")


def test_unknown_name_lists_the_bundled_ones() -> None:
    with pytest.raises(SetlistError, match="bundled setlists: classroom, kiosk, rearrange"):
        load_setlist("symphony-no-9")


def test_missing_file() -> None:
    with pytest.raises(SetlistError, match=r"nowhere\.toml: cannot read setlist"):
        load_setlist("/nonexistent/nowhere.toml")


def test_not_utf8_names_the_line() -> None:
    raw = GOOD.encode().replace(b'caption = "going"', b'caption = "go\xffing"')
    with pytest.raises(SetlistError, match=r"^x.toml:17: not UTF-8"):
        parse_setlist_bytes(raw, where="x.toml", name="x")


# --- fuzzing --------------------------------------------------------------------------

_ERR_RE = re.compile(r"^fuzz\.toml:(\d+): \S")
_GOOD_LINES = GOOD.split("\n")
_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            '"50MiB/s"',
            '"2%/s"',
            '"fast"',
            "nan",
            "inf",
            "-1",
            "1e400",
            "true",
            "[]",
            "{}",
            '"oom_kill"',
            '"key"',
            '"cache < 5%"',
            '"swap > 1e9GiB"',
            '"pressure > 0.5"',
            '"0s"',
            '"auto"',
            '"none"',
            "{ from = 1, to = 2, over = 3 }",
            '"""',
            "[[act]]",
            '"40%"',
            '"0.5%"',
            '"120%/s"',
            '"1.5G"',
            "1979-05-27",
            '"\\u0000"',
            '"0MiB"',
            '"0"',
            "0",
            '"booth"',
            '"kiosk"',
            '"classroom"',
        ]
    ),
)
_keys = st.sampled_from(
    [*ACT_KEYS, "title", "description", "memory", "swap", "loop", "bogus", "act", "show"]
)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    lines = list(_GOOD_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "delete", "insert", "dup", "garble"]))
        if how == "value":
            lines[i] = f"{draw(_keys)} = {draw(_values)}"
        elif how == "delete":
            del lines[i]
        elif how == "insert":
            lines.insert(i, draw(st.sampled_from(["[[act]]", "[show]", "[act]", "x = 1"])))
        elif how == "dup":
            lines.insert(i, lines[i])
        else:
            lines[i] = draw(st.text(max_size=30))
        if not lines:
            lines = [""]
    return "\n".join(lines)


def _check(text: str) -> None:
    try:
        parse_setlist(text, where="fuzz.toml", name="fuzz")
    except SetlistError as err:
        problems = getattr(err, "problems", (str(err),))
        assert _ERR_RE.match(str(err)), str(err)
        lines = []
        for problem in problems:
            m = _ERR_RE.match(problem)
            assert m and "\n" not in problem, problem
            assert 1 <= int(m.group(1)) <= text.count("\n") + 1, problem
            lines.append(int(m.group(1)))
        assert lines == sorted(lines), problems


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_fuzz_mutated_setlists(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_any_text(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_any_bytes(raw: bytes) -> None:
    try:
        parse_setlist_bytes(raw, where="fuzz.toml", name="fuzz")
    except SetlistError as err:
        assert _ERR_RE.match(str(err)), str(err)
