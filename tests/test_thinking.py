"""The inline-think splitter (llmcli/thinking.py): a leading think block leaves the text, at any delta boundary."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmcli.providers.base import Done, ReasoningDelta, TextDelta, Usage
from llmcli.thinking import split, strip_lone_close

END = [Usage(3, 4, 7), Done("stop", "m", "complete")]

# full text -> (answer, thinking), for a stream that does not start inside a block
CASES = {
    "<think>\nLet me think.\n</think>\n\nHello world": ("Hello world", "Let me think."),
    "<thinking>plan it</thinking>Answer": ("Answer", "plan it"),
    "[THINK]x < y[/THINK]\nAns": ("Ans", "x < y"),
    "◁think▷deep◁/think▷ ok": ("ok", "deep"),
    "  \n<think>a</think>b": ("b", "a"),
    "<think>\n\n</think>\n\nJust the answer.": ("Just the answer.", ""),
    "<think>never closed, all of it thinking": ("", "never closed, all of it thinking"),
    "Hello <think>inside</think> text": ("Hello <think>inside</think> text", ""),
    "<p>Hello</p>\n": ("<p>Hello</p>\n", ""),
    "  leading spaces kept": ("  leading spaces kept", ""),
    "<thin": ("<thin", ""),
    "<": ("<", ""),
    "": ("", ""),
    "<think>a</think>": ("", "a"),
}
# the same, for a stream that starts inside the block (think_tags = "open")
OPEN_CASES = {
    "Okay, the user wants X.\n</think>\n\nHello! X.": ("Hello! X.", "Okay, the user wants X."),
    "\n\n</think>\n\nAnswer only": ("Answer only", ""),
    "thinking[/THINK]answer": ("answer", "thinking"),
    "no closing tag at all": ("", "no closing tag at all"),
}


def run(parts, **kw) -> tuple[str, str, list]:
    events = list(split(iter([TextDelta(p) for p in parts if p] + END), **kw))  # backends send no empty text
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    thinking = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    return text, thinking, events


def check(parts, expected, **kw) -> None:
    text, thinking, events = run(parts, **kw)
    assert (text, thinking) == expected, parts
    assert events[-2:] == END  # Usage and Done pass unchanged, last
    assert all(e.text for e in events if isinstance(e, TextDelta))  # no empty text events


@pytest.mark.parametrize("full", list(CASES))
def test_whole_text(full):
    check([full], CASES[full])


@pytest.mark.parametrize("full", list(CASES))
def test_split_at_every_position(full):
    for i in range(len(full) + 1):
        check([full[:i], full[i:]], CASES[full])


@pytest.mark.parametrize("full", list(CASES))
def test_split_at_every_pair_of_positions_and_into_single_characters(full):
    for i, j in itertools.combinations(range(len(full) + 1), 2):
        check([full[:i], full[i:j], full[j:]], CASES[full])
    check(list(full), CASES[full])


@pytest.mark.parametrize("full", list(OPEN_CASES))
def test_opened_block_split_at_every_position(full):
    for i in range(len(full) + 1):
        check([full[:i], full[i:]], OPEN_CASES[full], opened=True)
    check(list(full), OPEN_CASES[full], opened=True)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(CASES)), st.lists(st.integers(min_value=0, max_value=60), max_size=8))
def test_any_partition_gives_the_same_split(full, cuts):
    points = sorted({c % (len(full) + 1) for c in cuts})
    parts = [full[a:b] for a, b in zip([0, *points], [*points, len(full)])]
    check(parts, CASES[full])


def test_an_answer_without_a_tag_is_not_held_back():
    pulled: list[str] = []

    def source():
        for piece in ("Hello", " there", ", friend"):
            pulled.append(piece)
            yield TextDelta(piece)

    out = split(source())
    assert next(out) == TextDelta("Hello")
    assert pulled == ["Hello"]  # given on before the next delta is even read
    assert next(out) == TextDelta(" there")
    assert pulled == ["Hello", " there"]


def test_a_tag_like_start_is_held_only_while_it_could_still_be_a_tag():
    pulled: list[str] = []

    def source():
        for piece in ("<", "th", "ead>", "rest"):
            pulled.append(piece)
            yield TextDelta(piece)

    out = split(source())
    assert next(out) == TextDelta("<thead>")  # "<th" could become "<think>"; "<thead" cannot
    assert pulled == ["<", "th", "ead>"]


def test_thinking_streams_out_while_the_block_is_open():
    pulled: list[str] = []

    def source():
        for piece in ("<think>", "first thought, ", "second thought", "</think>", "Answer"):
            pulled.append(piece)
            yield TextDelta(piece)

    out = split(source())
    first = next(out)
    assert isinstance(first, ReasoningDelta) and "first thought, ".startswith(first.text) and first.text
    assert pulled == ["<think>", "first thought, "]  # not held until the block ends
    rest = list(out)
    assert "".join(e.text for e in rest if isinstance(e, TextDelta)) == "Answer"


def test_provider_reasoning_events_pass_through_in_order():
    events = [ReasoningDelta("sep"), TextDelta("<think>in"), ReasoningDelta(""), TextDelta("line</think>A"), *END]
    out = list(split(iter(events)))
    assert out[0] == ReasoningDelta("sep")
    assert [e for e in out if isinstance(e, TextDelta)] == [TextDelta("A")]
    assert out[-2:] == END


def test_stream_without_usage_or_done_still_flushes_what_it_held():
    assert list(split(iter([TextDelta("<th")]))) == [TextDelta("<th")]
    assert list(split(iter([TextDelta("<think>x")]))) == [ReasoningDelta("x")]
    assert list(split(iter([TextDelta("x</think>")]), opened=True)) == [ReasoningDelta("x")]
    assert list(split(iter([]))) == []


def test_the_held_back_part_is_no_longer_than_the_longest_opening_tag():
    from llmcli.thinking import OPENERS

    longest = max(len(o) for o in OPENERS)
    for opener in OPENERS:
        # A text that follows an opening tag's prefix and then diverges is given on at the divergence.
        text = opener[:-1] + "Z and more"
        pulled = 0

        def source(text=text):
            nonlocal pulled
            for ch in text:
                pulled += 1
                yield TextDelta(ch)

        out = split(source())
        assert next(out).text == opener[:-1] + "Z"
        assert pulled == len(opener) <= longest


# -- strip_lone_close: the whole answer known ----------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Okay, the user...\n</think>\n\nHello!", ("Hello!", "Okay, the user...")),
        ("<think>a</think>\n\nB", ("B", "a")),
        ("<think>unclosed", ("", "unclosed")),
        ("plain answer", ("plain answer", "")),
        ("Hello <think>x</think> y", ("Hello <think>x</think> y", "")),
        ("reasoning[/THINK]\nAnswer", ("Answer", "reasoning")),
        ("", ("", "")),
    ],
)
def test_strip_lone_close(text, expected):
    assert strip_lone_close(text) == expected


def test_strip_lone_close_keeps_a_closing_tag_the_source_had():
    source = "Explain what </think> does in a chat template."
    answer = "Explain what </think> does in chat templates."
    assert strip_lone_close(answer, source=source) == (answer, "")
    assert strip_lone_close(answer) == ("does in chat templates.", "Explain what")
