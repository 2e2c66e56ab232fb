"""The clean-up removes only a wrapper around the whole answer that the input did not have."""

import pytest

from llmcli.clean import CleaningWriter, clean_answer


@pytest.mark.parametrize("answer, expected", [
    ("```\nHello there.\n```", "Hello there."),
    ("```markdown\n# Title\n\nText\n```\n", "# Title\n\nText"),
    ("~~~\nx\n~~~", "x"),
    ('"Hello there."', "Hello there."),
    ("\u201cHello there.\u201d", "Hello there."),
    ("<text>\nHello there.\n</text>", "Hello there."),
    ("<text>\n```\nHi\n```\n</text>", "Hi"),
])
def test_wrappers_are_removed(answer, expected):
    assert clean_answer(answer, "hello there") == expected


@pytest.mark.parametrize("answer", [
    "Use `x` here.",
    "```py\na = 1\n```\ntext after the block",  # a fence, but not around the whole answer
    "```\none\n```\n\n```\ntwo\n```",  # two blocks
    '"Yes," she said, "go."',  # quotes inside: not a wrapper
    "Plain answer.",
])
def test_answers_without_a_whole_wrapper_are_untouched(answer):
    assert clean_answer(answer, "source text") == answer


def test_inner_fence_is_kept():
    answer = "````\nbefore\n```py\ncode\n```\nafter\n````"
    assert clean_answer(answer, "before code after") == "before\n```py\ncode\n```\nafter"


def test_wrapper_the_input_had_is_kept():
    assert clean_answer("```\ncode\n```", "```\ncode\n```") == "```\ncode\n```"
    assert clean_answer('"quoted"', '"quoted"') == '"quoted"'


class Sink:
    def __init__(self):
        self.parts, self.finished, self.aborted = [], False, False

    def feed(self, text):
        self.parts.append(text)

    def finish(self):
        self.finished = True

    def abort(self):
        self.aborted = True


def test_writer_streams_ordinary_answers_at_once():
    sink = Sink()
    writer = CleaningWriter(sink, "source")
    writer.feed("He")
    assert sink.parts == ["He"]  # no holding back
    writer.feed("llo")
    writer.finish()
    assert "".join(sink.parts) == "Hello" and sink.finished


def test_writer_holds_a_possible_wrapper_and_cleans_it():
    sink = Sink()
    writer = CleaningWriter(sink, "source")
    for part in ["``", "`\nHel", "lo\n`", "``"]:
        writer.feed(part)
    assert sink.parts == []
    writer.finish()
    assert sink.parts == ["Hello"]


def test_writer_abort_flushes_what_it_held():
    sink = Sink()
    writer = CleaningWriter(sink, "source")
    writer.feed('"partial')
    writer.abort()
    assert sink.parts == ['"partial'] and sink.aborted
