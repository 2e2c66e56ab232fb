"""The diff between an input and its rewrite: unified text for pipes, word-level colour on terminals."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys

import pytest

from llmcli import diffview
from llmcli.errors import StdoutClosed

from .conftest import ROOT

SGR = re.compile(r"\x1b\[([0-9;]*)m")
COLOUR_PARAMS = {str(n) for n in [*range(30, 39), *range(40, 49), *range(90, 98), *range(100, 108)]}


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch):
    """A known terminal for Rich's colour detection (conftest already removed NO_COLOR/FORCE_COLOR)."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("COLORTERM", raising=False)


def render(before, after, **kwargs):
    out = io.StringIO()
    changed = diffview.write_diff(before, after, stream=out, terminal=True, width=kwargs.pop("width", 1000), **kwargs)
    return changed, out.getvalue()


def segments(output):
    """(text, SGR parameters in force) for each run of the output; Rich resets with ESC[0m after every run."""
    runs, params, pos = [], frozenset(), 0
    for match in SGR.finditer(output):
        if match.start() > pos:
            runs.append((output[pos : match.start()], params))
        codes = match.group(1)
        params = frozenset() if codes in ("", "0") else params | set(codes.split(";"))
        pos = match.end()
    if pos < len(output):
        runs.append((output[pos:], params))
    return runs


def deleted(output):
    return [text for text, params in segments(output) if "9" in params]


def inserted(output):
    return [text for text, params in segments(output) if "4" in params]


def plain(output):
    return SGR.sub("", output)


# --- unified (pipes) --------------------------------------------------------


def test_unified_simple_change_exact():
    assert diffview.unified("one\ntwo\nthree\n", "one\n2\nthree\n") == (
        "--- input\n"
        "+++ answer\n"
        "@@ -1,3 +1,3 @@\n"
        " one\n"
        "-two\n"
        "+2\n"
        " three\n"
    )


def test_unified_uses_labels_and_three_lines_of_context():
    before = "".join(f"line {n}\n" for n in range(1, 11))
    after = before.replace("line 6\n", "line six\n")
    assert diffview.unified(before, after, "notes.txt", "rewrite").splitlines() == [
        "--- notes.txt",
        "+++ rewrite",
        "@@ -3,7 +3,7 @@",
        " line 3",
        " line 4",
        " line 5",
        "-line 6",
        "+line six",
        " line 7",
        " line 8",
        " line 9",
    ]


def test_equal_texts_give_nothing_and_false():
    assert diffview.unified("same\n", "same\n") == ""
    for terminal in (False, True):
        out = io.StringIO()
        assert diffview.write_diff("same\n", "same\n", stream=out, terminal=terminal) is False
        assert out.getvalue() == ""


def test_unified_marks_a_last_line_without_newline():
    assert diffview.unified("a\nb", "a\nc") == (
        "--- input\n"
        "+++ answer\n"
        "@@ -1,2 +1,2 @@\n"
        " a\n"
        "-b\n"
        "\\ No newline at end of file\n"
        "+c\n"
        "\\ No newline at end of file\n"
    )


def test_unified_reports_a_difference_in_the_final_newline_only():
    assert diffview.unified("a\n", "a").splitlines()[2:] == ["@@ -1 +1 @@", "-a", "+a", "\\ No newline at end of file"]
    assert diffview.unified("a", "a\n").splitlines()[2:] == ["@@ -1 +1 @@", "-a", "\\ No newline at end of file", "+a"]


def test_unified_splits_lines_on_newline_only_like_diff():
    """A form feed or CR inside a line is not a line break for `diff`, so not for us."""
    assert diffview.unified("a\fb\r\nc\n", "a\fb\r\nd\n").split("\n")[2:] == [
        "@@ -1,2 +1,2 @@",
        " a\fb\r",
        "-c",
        "+d",
        "",
    ]


@pytest.mark.skipif(shutil.which("diff") is None, reason="needs GNU diff")
@pytest.mark.parametrize(
    "before, after",
    [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\nb", "a\nb\n"),
        ("a\nb\n", "a\nb"),
        ("x", "y"),
        ("", "new\n"),
        ("old\n", ""),
        ("".join(f"{n}\n" for n in range(30)), "".join(f"{n}\n" for n in range(30) if n not in (3, 17)) + "end"),
    ],
)
def test_unified_matches_gnu_diff(tmp_path, before, after):
    (tmp_path / "a").write_text(before, encoding="utf-8", newline="")
    (tmp_path / "b").write_text(after, encoding="utf-8", newline="")
    result = subprocess.run(
        ["diff", "-u", "--label", "input", "--label", "answer", "a", "b"], cwd=tmp_path, capture_output=True
    )
    assert result.returncode == 1  # "different"
    assert diffview.unified(before, after) == result.stdout.decode("utf-8")


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch")
def test_unified_applies_with_patch(tmp_path):
    before = "Dear team,\nthe report is late.\nSorry\n\nBest,\nAnn"
    after = "Dear team,\n\nThe report will be late.\nApologies.\n\nBest regards,\nAnn\n"
    target = tmp_path / "text.txt"
    target.write_text(before, encoding="utf-8", newline="")
    subprocess.run(["patch", "-s", str(target)], input=diffview.unified(before, after), text=True, check=True)
    assert target.read_text(encoding="utf-8") == after


def test_pipe_gets_the_unified_diff_without_ansi():
    out = io.StringIO()
    assert diffview.write_diff("one\ntwo\n", "one\n2\n", stream=out, terminal=False) is True
    assert out.getvalue() == diffview.unified("one\ntwo\n", "one\n2\n")
    assert "\x1b" not in out.getvalue()


def test_pipe_diff_is_utf8_even_on_an_ascii_stream():
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # a C-locale stdout
    diffview.write_diff("naïve\n", "naïve “quoted”\n", stream=out, terminal=False)
    assert out.buffer.getvalue().decode("utf-8") == "--- input\n+++ answer\n@@ -1 +1 @@\n-naïve\n+naïve “quoted”\n"


def test_closed_pipe_is_stdout_closed():
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError()

    for terminal in (False, True):
        with pytest.raises(StdoutClosed):
            diffview.write_diff("a\n", "b\n", stream=Closed(), terminal=terminal)


# --- terminal: word view ----------------------------------------------------


def test_terminal_word_diff_strikes_deleted_red_and_underlines_inserted_green():
    changed, output = render("The report is late.\n", "The report will be late.\n")
    assert changed is True
    runs = segments(output)
    deleted_style, inserted_style = frozenset({"9", "31"}), frozenset({"1", "4", "32"})
    assert ("is", deleted_style) in runs  # strike + red
    assert ("will be", inserted_style) in runs  # bold + underline + green
    assert deleted(output) == ["is"] and inserted(output) == ["will be"]
    assert {params for _, params in runs} == {frozenset(), frozenset({"1"}), deleted_style, inserted_style}
    assert plain(output) == "--- input\n+++ answer\nThe report iswill be late.\n"  # the rest is plain


def test_words_changed_in_a_row_form_one_change():
    _, output = render("the quick brown fox\n", "the slow red fox\n")
    assert deleted(output) == ["quick brown"]
    assert inserted(output) == ["slow red"]


def test_a_line_break_keeps_changes_apart():
    _, output = render("one\ntwo\n", "uno\ndos\n")
    assert deleted(output) == ["one", "two"]
    assert inserted(output) == ["uno", "dos"]
    _, output = render("- a:\n  one item\n", "- a:\n  two items\n")  # the shared indent is not changed
    assert deleted(output) == ["one item"]
    assert inserted(output) == ["two items"]
    _, output = render("x a\n  b y\n", "x c\n  d y\n")
    assert deleted(output) == ["a", "b"]
    assert inserted(output) == ["c", "d"]


def test_word_view_lays_out_the_answer_and_keeps_the_input_recoverable():
    """Without the struck runs the output is the answer; without the underlined ones, the input.

    Changed line breaks are shown as ↵: deleted ones are not breaks (the layout is the answer's),
    inserted ones are a mark followed by the break.
    """
    before = "Hi  all,\nthe meeting is\non monday. Don't be late!\n\nThanks\n"
    after = "Hello all,\n\nThe meeting is on Monday. Please don't be late!\nThanks,\nAnn"
    _, output = render(before, after)
    assert plain(output).startswith("--- input\n+++ answer\n")
    body = segments(output.split("\n", 2)[2])  # after the two header lines
    shown_after, shown_before, mark_pending = "", "", False
    for text, params in body:
        if "9" in params:  # deleted
            shown_before += text.replace("↵", "\n")
        elif "4" in params:  # inserted
            assert "\n" not in text  # Rich draws the break after the mark unstyled
            shown_after += text.replace("↵", "")
            mark_pending = text.endswith("↵")
        else:
            shown_after += text
            shown_before += text[1:] if mark_pending and text.startswith("\n") else text
            mark_pending = False
    assert shown_after == after + "\n"  # print ends the last line
    assert shown_before == before + "\n"


def test_a_removed_final_newline_is_shown():
    _, output = render("abc\n", "abc")
    assert deleted(output) == ["↵"]
    assert plain(output).endswith("abc↵\n")
    _, output = render("abc", "abc\n")
    assert inserted(output) == ["↵"]
    assert plain(output).endswith("abc↵\n")


def test_no_color_keeps_strike_and_underline_but_drops_colours(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    _, output = render("The report is late.\n", "The report will be late.\n")
    params = set().union(*(p for _, p in segments(output)))
    assert not params & COLOUR_PARAMS
    assert ("is", frozenset({"9"})) in segments(output)
    assert ("will be", frozenset({"1", "4"})) in segments(output)


def test_user_text_is_never_markup():
    _, output = render("say [bold]x[/bold] and :smile:\n", "say [bold]y[/bold] and :smile: [red]\n")
    text = plain(output)
    assert "say [bold]xy[/bold] and :smile: [red]\n" in text
    assert deleted(output) == ["x"]
    assert inserted(output) == ["y", " [red]"]
    body = segments(output.split("\n", 2)[2])
    assert all("4" in params for _, params in body if "1" in params)  # bold only on insertions
    assert all("9" in params for _, params in body if "31" in params)  # red only on deletions


def test_control_characters_cannot_reach_the_terminal():
    _, output = render("title\n", "\x1b]0;pwned\x07title \x1b[2J\n")
    assert "\x1b" not in SGR.sub("", output)
    assert "␛]0;pwned␇" in plain(output)
    assert "␛[2J" in plain(output)
    _, output = render("\x1b[2J\x9bkeep old\n", "\x1b[2J\x9bkeep new\n")  # in unchanged text too
    assert plain(output) == "--- input\n+++ answer\n␛[2J\\x9bkeep oldnew\n"


def test_crlf_lines_read_as_lines_and_a_changed_line_ending_is_shown():
    _, output = render("one\r\ntwo\r\n", "one\r\n2\r\n")
    assert plain(output) == "--- input\n+++ answer\none\ntwo2\n"
    _, output = render("one\r\ntwo\r\n", "one\ntwo\n")
    assert deleted(output) == ["␍", "␍"] and inserted(output) == []


def test_marks_fall_back_to_ascii_on_an_ascii_stream():
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    diffview.write_diff("one\ntwo\n", "one two\x1b\n", stream=out, terminal=True, width=80)
    text = plain(out.buffer.getvalue().decode("ascii"))
    assert text == "--- input\n+++ answer\none\\n two^[\n"


def test_word_view_wraps_at_the_given_width():
    before = "word " * 40 + "\n"
    after = before.replace("word word", "term word", 1)
    _, output = render(before, after, width=30)
    assert max(len(line) for line in plain(output).splitlines()) <= 30
    assert len(plain(output).splitlines()) > 3


def test_dumb_terminal_gets_the_plain_unified_diff(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    _, output = render("one\ntwo\n", "one\n2\n")
    assert output == diffview.unified("one\ntwo\n", "one\n2\n")


# --- terminal: line view for long texts --------------------------------------


def test_long_texts_get_a_coloured_line_diff():
    before = "".join(f"Line number {n}.\n" for n in range(diffview.WORD_DIFF_MAX_LINES + 1))
    after = before.replace("Line number 150.\n", "Line 150, changed.\n")
    _, output = render(before, after)
    runs = segments(output)
    assert ("--- input", frozenset({"1"})) in runs and ("+++ answer", frozenset({"1"})) in runs
    assert ("@@ -148,7 +148,7 @@", frozenset({"36"})) in runs  # cyan
    assert ("-Line number 150.", frozenset({"31"})) in runs
    assert ("+Line 150, changed.", frozenset({"32"})) in runs
    assert plain(output) == diffview.unified(before, after)


def test_exactly_the_line_threshold_still_gets_the_word_view():
    before = "".join(f"Line number {n}.\n" for n in range(diffview.WORD_DIFF_MAX_LINES))
    after = before.replace("Line number 150.\n", "Line 150, changed.\n")
    _, output = render(before, after)
    assert "@@" not in output
    assert deleted(output) == ["number "] and inserted(output) == [", changed"]
    assert "\nLine number 150.\n" not in plain(output) and "\nLine number 149.\n" in plain(output)


def test_few_but_very_long_lines_get_the_line_view():
    before = "word " * (diffview.WORD_DIFF_MAX_CHARS // 5 + 1) + "\n"
    after = "start " + before
    _, output = render(before, after)
    assert "@@ -1 +1 @@" in plain(output)


def test_repetitive_text_beyond_the_work_budget_gets_the_line_view(monkeypatch):
    before, after = "the " * 300, "the a " * 200
    _, output = render(before, after)
    assert "@@" not in output  # within the default budget: words
    monkeypatch.setattr(diffview, "WORD_DIFF_BUDGET", 10_000)
    _, output = render(before, after)
    assert "@@ -1 +1 @@" in plain(output)


def test_line_view_no_newline_marker_is_dim(monkeypatch):
    monkeypatch.setattr(diffview, "WORD_DIFF_MAX_LINES", 1)
    _, output = render("a\nb", "a\nc")
    assert ("\\ No newline at end of file", frozenset({"2"})) in segments(output)


def test_line_view_header_lookalikes_are_ordinary_lines(monkeypatch):
    monkeypatch.setattr(diffview, "WORD_DIFF_MAX_LINES", 1)
    _, output = render("x\n-- sig\n", "x\n++ sig\n")
    assert ("--- sig", frozenset({"31"})) in segments(output)
    assert ("+++ sig", frozenset({"32"})) in segments(output)


# --- module hygiene -----------------------------------------------------------


def test_tokens_cover_the_text_and_group_words_whitespace_and_punctuation():
    text = "Don't   stop—now...\r\nok\r?\t[x]\n\n"
    tokens = diffview._tokens(text)
    assert "".join(tokens) == text
    assert tokens == ["Don't", "   ", "stop", "—", "now", "...", "\r\n", "ok", "\r", "?", "\t", "[", "x", "]", "\n", "\n"]


def test_importing_diffview_does_not_import_rich():
    result = subprocess.run(
        [sys.executable, "-c", "import sys, llmcli.diffview; print('rich' in sys.modules)"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    assert result.stdout.strip() == "False"
