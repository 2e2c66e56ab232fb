"""batch.markdown_safe: what of a Markdown file is prose, what stays byte for byte, and link masking."""

from __future__ import annotations

import random
import re
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

from llmcli.batch.markdown_safe import LinkTokenError, Segment, mask_links, split_markdown, unmask_links
from llmcli.markdown_parser import split_lines

try:  # optional: a property test runs when hypothesis is installed
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - depends on the environment
    given = None


def split(text: str) -> list[Segment]:
    segments = split_markdown(text)
    assert "".join(s.text for s in segments) == text
    for before, after in zip(segments, segments[1:]):
        assert before.rewrite != after.rewrite, "adjacent segments of one kind were not merged"
    assert all(s.text for s in segments)
    return segments


def prose(text: str) -> str:
    return "".join(s.text for s in split(text) if s.rewrite)


def kept(text: str) -> str:
    return "".join(s.text for s in split(text) if not s.rewrite)


def kinds(text: str) -> list[tuple[bool, str]]:
    return [(s.rewrite, s.text) for s in split(text)]


# -- split_markdown: basics ----------------------------------------------------------------------


def test_empty_text_gives_no_segment():
    assert split_markdown("") == []


def test_plain_paragraphs_are_one_prose_segment_blank_lines_included():
    text = "First paragraph,\nstill first.\n\nSecond one.\n"
    assert kinds(text) == [(True, text)]


def test_segment_is_frozen():
    segment = Segment("a", True)
    with pytest.raises(AttributeError):
        segment.text = "b"  # type: ignore[misc]


def test_headings_lists_blockquotes_and_tables_are_prose():
    text = (
        "# Title\n\nSetext\n======\n\n- one\n- two\n  continued\n\n1. first\n2. second\n\n"
        "> quoted\n> text\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert kinds(text) == [(True, text)]


def test_table_is_prose_and_cut_exactly_around_a_fence():
    text = "| Name | Use |\n| :--- | ---: |\n| foo | bar |\n\n```\ncode\n```\n"
    assert kinds(text) == [
        (True, "| Name | Use |\n| :--- | ---: |\n| foo | bar |\n"),
        (False, "\n```\ncode\n```\n"),
    ]


def test_horizontal_rule_is_kept():
    assert kinds("Above.\n\n***\n\nBelow.\n") == [(True, "Above.\n"), (False, "\n***\n\n"), (True, "Below.\n")]


# -- front matter --------------------------------------------------------------------------------


def test_yaml_front_matter_is_kept():
    text = "---\ntitle: Helo wrold\ntags: [a, b]\n---\n# Heading\n\nText.\n"
    assert kinds(text) == [(False, "---\ntitle: Helo wrold\ntags: [a, b]\n---\n"), (True, "# Heading\n\nText.\n")]


def test_yaml_front_matter_closed_by_dots():
    text = "---\ntitle: x\n...\nText.\n"
    assert kinds(text) == [(False, "---\ntitle: x\n...\n"), (True, "Text.\n")]


def test_toml_front_matter_is_kept():
    text = '+++\ntitle = "Helo"\ndate = 2024-01-01\n+++\n\nBody text.\n'
    assert kinds(text) == [(False, '+++\ntitle = "Helo"\ndate = 2024-01-01\n+++\n\n'), (True, "Body text.\n")]


def test_toml_front_matter_is_not_closed_by_dashes():
    text = "+++\ntitle = 1\n---\nmore = 2\n+++\nBody.\n"
    assert kinds(text)[0] == (False, "+++\ntitle = 1\n---\nmore = 2\n+++\n")


def test_front_matter_with_crlf_bom_and_trailing_spaces():
    text = "\ufeff---  \r\na: 1\r\n--- \r\nBody.\r\n"
    assert kinds(text) == [(False, "\ufeff---  \r\na: 1\r\n--- \r\n"), (True, "Body.\r\n")]


def test_front_matter_only_at_the_very_start():
    text = "Intro.\n\n---\ntitle: x\n---\n"
    # Not front matter: "title: x" followed by --- is a setext heading, i.e. prose.
    assert "title: x" in prose(text)


def test_unclosed_front_matter_is_not_front_matter():
    text = "---\ntitle: x\n\nText.\n"
    assert kinds(text) == [(False, "---\n"), (True, "title: x\n\nText.\n")]  # an hr, then prose


def test_front_matter_without_final_newline():
    assert kinds("---\na: 1\n---") == [(False, "---\na: 1\n---")]


# -- code, HTML, reference definitions ------------------------------------------------------------


def test_backtick_fence_is_kept_whole_with_markdown_lookalikes_inside():
    text = "Intro.\n\n```python\n# not a heading\n\n- not a list\n```\n\nOutro.\n"
    assert kinds(text) == [
        (True, "Intro.\n"),
        (False, "\n```python\n# not a heading\n\n- not a list\n```\n\n"),
        (True, "Outro.\n"),
    ]


def test_tilde_fence_is_kept():
    text = "Text.\n~~~~\ncode ``` inside\n~~~~\nMore text.\n"
    assert kinds(text) == [(True, "Text.\n"), (False, "~~~~\ncode ``` inside\n~~~~\n"), (True, "More text.\n")]


def test_unclosed_fence_is_kept_to_end_of_file():
    text = "Text.\n\n```sh\nrm -rf build\n\nSo this is code too.\n"
    assert kinds(text) == [(True, "Text.\n"), (False, "\n```sh\nrm -rf build\n\nSo this is code too.\n")]


def test_indented_code_block_is_kept():
    text = "Run:\n\n    make install\n\n    make test\n\nDone.\n"
    assert kinds(text) == [(True, "Run:\n"), (False, "\n    make install\n\n    make test\n\n"), (True, "Done.\n")]


def test_html_block_is_kept():
    text = "Before.\n\n<div align=\"center\">\n  <img src=\"logo.png\">\n</div>\n\nAfter.\n"
    assert kinds(text) == [
        (True, "Before.\n"),
        (False, '\n<div align="center">\n  <img src="logo.png">\n</div>\n\n'),
        (True, "After.\n"),
    ]


def test_html_comment_block_is_kept():
    text = "<!-- markdownlint-disable -->\nText.\n"
    assert kinds(text)[0] == (False, "<!-- markdownlint-disable -->\n")


def test_link_reference_definitions_are_kept():
    text = 'See [the docs][docs].\n\n[docs]: https://example.com/docs\n[other]: <https://x.y/a b>\n  "A title"\nNext paragraph.\n'
    assert kinds(text) == [
        (True, "See [the docs][docs].\n"),
        (False, '\n[docs]: https://example.com/docs\n[other]: <https://x.y/a b>\n  "A title"\n'),
        (True, "Next paragraph.\n"),
    ]


def test_fence_inside_list_item_is_kept_and_item_text_is_prose():
    text = "- Instal it:\n\n  ```sh\n  pip install llmcli\n  ```\n\n  Then run it.\n- Secnd item\n"
    assert kinds(text) == [
        (True, "- Instal it:\n"),
        (False, "\n  ```sh\n  pip install llmcli\n  ```\n\n"),
        (True, "  Then run it.\n- Secnd item\n"),
    ]


def test_fence_directly_under_list_item_line():
    text = "1. Step:\n   ```\n   code\n   ```\n2. Next\n"
    assert kinds(text) == [(True, "1. Step:\n"), (False, "   ```\n   code\n   ```\n"), (True, "2. Next\n")]


def test_fence_and_indented_code_inside_blockquote_are_kept():
    text = "> Quote.\n>\n> ```\n> code\n> ```\n>\n>     indented\n\nEnd.\n"
    assert kinds(text) == [
        (True, "> Quote.\n"),
        (False, ">\n> ```\n> code\n> ```\n>\n>     indented\n\n"),
        (True, "End.\n"),
    ]


def test_html_and_reference_definition_inside_list_item_are_kept():
    text = "- Item.\n\n  <details>\n  hidden\n  </details>\n\n- [a]: https://example.com\n- Last.\n"
    assert kept(text) == "\n  <details>\n  hidden\n  </details>\n\n- [a]: https://example.com\n"
    assert prose(text) == "- Item.\n- Last.\n"


def test_deep_nesting_past_the_parser_limit_is_never_prose():
    text = "Top.\n\n" + ">" * 30 + " ```\n" + ">" * 30 + " CODE\n"
    assert "CODE" not in prose(text)
    assert prose(text) == "Top.\n"


# -- exactness -----------------------------------------------------------------------------------


def test_crlf_line_endings_survive_and_cut_by_lines():
    text = "Para.\r\n\r\n```\r\ncode\r\n```\r\n\r\nEnd.  \r\n"
    assert kinds(text) == [(True, "Para.\r\n"), (False, "\r\n```\r\ncode\r\n```\r\n\r\n"), (True, "End.  \r\n")]


def test_lone_cr_line_endings_are_lines_too():
    text = "Para.\r\r```\rcode\r```\rEnd."
    assert kinds(text) == [(True, "Para.\r"), (False, "\r```\rcode\r```\r"), (True, "End.")]


def test_mixed_line_endings():
    text = "A\nB\r\n\r\n    code\n\rC\r"
    assert kinds(text) == [(True, "A\nB\r\n"), (False, "\r\n    code\n\r"), (True, "C\r")]


def test_no_final_newline_prose_and_code():
    assert kinds("Just text") == [(True, "Just text")]
    assert kinds("Text\n\n```\ncode") == [(True, "Text\n"), (False, "\n```\ncode")]
    assert kinds("Text\n\n```\ncode\n```") == [(True, "Text\n"), (False, "\n```\ncode\n```")]


def test_trailing_whitespace_and_tabs_are_kept_in_place():
    text = "Line with spaces   \n\tTabbed?\n\n  \t \nNext.\t\n"
    assert "".join(s.text for s in split(text)) == text


def test_blank_only_text():
    text = "\n \n\t\n"
    assert kinds(text) == [(False, text)]


def test_form_feed_and_line_separator_are_not_line_breaks():
    assert split_lines("a\fb\u2028c\n\x85d") == ["a\fb\u2028c\n", "\x85d"]
    text = "a\u2028b\n\n```\nx\u2028y\n```\n"
    assert kinds(text) == [(True, "a\u2028b\n"), (False, "\n```\nx\u2028y\n```\n")]


# -- a generated corpus: the pieces always add up, code never leaks, prose is never lost -----------

PROSE_BLOCKS = [
    ["Paragraph {p} with a [link](https://e.x/{p}) and `code {p}`.", "A second line {p}."],
    ["## Heading {p}"],
    ["Setext {p}", "----------"],
    ["- item {p}", "- item {p}b", "  continued {p}c"],
    ["1. first {p}", "2. second {p}b"],
    ["> quote {p}", "> more {p}b"],
    ["| head {p} | b |", "|---|---|", "| cell {p}b | 2 |"],
]
KEPT_BLOCKS = [
    ["```python", "CODE{c} = 1", "", "# CODE{c} heading", "```"],
    ["~~~", "CODE{c}", "~~~"],
    ["    CODE{c}()", "", "    CODE{c}b()"],
    ["<div>", "CODE{c}", "</div>"],
    ["<!-- CODE{c} -->"],
    ['[ref{c}]: https://CODE{c}.example "CODE{c}"'],
    ["***"],
]
MIXED_BLOCKS = [  # containers holding both
    ["- item {p}", "", "  ```", "  CODE{c}", "  ```", "", "  after {p}b", "- next {p}c"],
    ["> quote {p}", ">", "> ~~~", "> CODE{c}", "> ~~~", ">", "> after {p}b"],
    ["1. step {p}", "", "       CODE{c} indented", "", "2. step {p}b"],
]


def make_document(rng: random.Random) -> tuple[str, list[str], list[str]]:
    """A random document, its prose markers and its code markers."""
    newline = rng.choice(["\n", "\r\n", "\r", "mixed"])
    lines: list[str] = []
    prose_marks: list[str] = []
    code_marks: list[str] = []
    counter = iter(range(10**6))
    if rng.random() < 0.3:
        c = next(counter)
        opener, closer = rng.choice([("---", "---"), ("---", "..."), ("+++", "+++")])
        lines += [opener, f"title: CODE{c}", closer]
        code_marks.append(f"CODE{c}")
    previous_is_container = False
    for _ in range(rng.randint(1, 8)):
        kind = rng.choice(["prose", "kept", "mixed"])
        block = rng.choice({"prose": PROSE_BLOCKS, "kept": KEPT_BLOCKS, "mixed": MIXED_BLOCKS}[kind])
        if block[0].startswith("    ") and previous_is_container:
            lines += ["", "Separator paragraph."]  # else the indented code would continue the list item
        p, c = next(counter), next(counter)
        marks_p = [f"P{p}", f"P{p}b", f"P{p}c"]
        body = [line.format(p=f"P{p}", c=c) for line in block]
        prose_marks += [m for m in marks_p if any(re.search(rf"\b{m}\b", line) for line in body)]
        if any("CODE" in line for line in body):
            code_marks.append(f"CODE{c}")
        lines += [""] * rng.randint(1, 2) + body
        previous_is_container = block[0].startswith(("- ", "1. ", "> "))
    if rng.random() < 0.2:
        c = next(counter)
        lines += ["", "```", f"CODE{c} unclosed"]
        code_marks.append(f"CODE{c}")
    lines = [line + " " * rng.choice([0, 0, 0, 1, 3]) if not line.startswith("    ") else line for line in lines]
    if newline == "mixed":
        text = ""
        for line in lines:
            # "\r" then an empty line ending in "\n" would be one CRLF: the blank line would vanish.
            choices = ["\r\n", "\r"] if text.endswith("\r") and not line else ["\n", "\r\n", "\r"]
            text += line + rng.choice(choices)
    else:
        text = newline.join(lines) + newline
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")
    return text, prose_marks, code_marks


@pytest.mark.parametrize("seed", range(300))
def test_generated_documents(seed):
    text, prose_marks, code_marks = make_document(random.Random(seed))
    segments = split(text)
    prose_text = "".join(s.text for s in segments if s.rewrite)
    kept_text = "".join(s.text for s in segments if not s.rewrite)
    for mark in code_marks:
        assert not re.search(rf"\b{mark}\b", prose_text), f"{mark} leaked into prose"
        assert re.search(rf"\b{mark}\b", kept_text)
    for mark in prose_marks:
        assert re.search(rf"\b{mark}\b", prose_text), f"{mark} not in prose"


def test_generated_corpus_is_varied():
    docs = [make_document(random.Random(seed))[0] for seed in range(300)]
    assert sum("\r\n" in d for d in docs) > 50
    assert sum(not d.endswith(("\n", "\r")) for d in docs) > 50
    assert sum(d.startswith(("---", "+++")) for d in docs) > 50
    assert sum("  ```" in d for d in docs) > 30


def test_arbitrary_texts_round_trip():
    rng = random.Random(7)
    alphabet = list("ab #>-*`~_[]()<>!|:=+.\\\t ") + ["\n", "\r\n", "\r", "```", "~~~", "    ", "---", "\u00e9", "\u6f22", "\x00"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        split(text)


if given is not None:

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.text(alphabet=st.sampled_from(list("ab #>-*`~_[]()<>!|:=+.\\\t \n\r\u00e9\x00")), max_size=120))
    def test_hypothesis_round_trip(text):
        split(text)
        masked, table = mask_links(text)
        assert unmask_links(masked, table) == text


# -- mask_links / unmask_links ----------------------------------------------------------------------


def round_trip(text: str) -> tuple[str, dict[str, str]]:
    masked, table = mask_links(text)
    assert unmask_links(masked, table) == text
    return masked, table


def test_inline_link_target_is_masked_text_stays():
    masked, table = round_trip("Read [the fine manual](https://example.com/docs) now.")
    assert masked == "Read [the fine manual](⟦1⟧) now."
    assert table == {"⟦1⟧": "https://example.com/docs"}


def test_image_source_and_title_are_masked_alt_stays():
    masked, table = round_trip('![A smiling cat](img/cat.png "The cat")')
    assert masked == "![A smiling cat](⟦1⟧)"
    assert table == {"⟦1⟧": 'img/cat.png "The cat"'}


@pytest.mark.parametrize(
    "inside",
    [
        'https://x.y "Title"',
        "https://x.y 'Title'",
        "https://x.y (Title)",
        "  https://x.y  ",
        "<https://x.y/with spaces> \"t\"",
        "https://x.y/wiki/Foo_(bar)",
        "https://x.y/a\\)b",
        "/relative/path#anchor",
        "#section",
        'https://x.y\n  "Title on the next line"',
    ],
)
def test_link_destination_and_title_forms(inside):
    masked, table = round_trip(f"See [here]({inside}) please.")
    assert masked == "See [here](⟦1⟧) please."
    assert table == {"⟦1⟧": inside}


def test_empty_destination_has_nothing_to_mask():
    assert mask_links("[empty]() link") == ("[empty]() link", {})


def test_not_a_link_tail_is_left_alone():
    for text in ["[a](b c d)", "[a](b", "no brackets (x)", "\\[a](b)", "a](b)"]:
        assert mask_links(text) == (text, {}), text


def test_autolinks_are_masked_whole():
    masked, table = round_trip("Mail <me@example.com> or see <https://example.com/a?b=c>.")
    assert masked == "Mail ⟦1⟧ or see ⟦2⟧."
    assert table == {"⟦1⟧": "<me@example.com>", "⟦2⟧": "<https://example.com/a?b=c>"}


def test_bare_urls_are_masked_without_trailing_punctuation():
    masked, table = round_trip("Go to https://example.com/path. Or (www.example.org/x), or http://a.b/c_(d)!")
    assert masked == "Go to ⟦1⟧. Or (⟦2⟧), or ⟦3⟧!"
    assert table == {"⟦1⟧": "https://example.com/path", "⟦2⟧": "www.example.org/x", "⟦3⟧": "http://a.b/c_(d)"}


def test_bare_url_glued_to_a_word_is_masked_from_the_scheme_on_but_www_needs_a_word_start():
    assert mask_links("seehttps://example.com") == ("see⟦1⟧", {"⟦1⟧": "https://example.com"})
    assert mask_links("awww.example.com") == ("awww.example.com", {})


def test_consecutive_bracket_groups_mask_every_later_part():
    masked, table = round_trip("[a][b][c] and [x][`y` z](https://e.x)")
    assert masked == "[a][⟦1⟧][⟦2⟧] and [x][⟦3⟧](⟦4⟧)"


def test_url_as_link_text_and_target():
    masked, table = round_trip("[https://example.com](https://example.com)")
    assert masked == "[⟦1⟧](⟦2⟧)"
    assert list(table.values()) == ["https://example.com", "https://example.com"]


def test_image_inside_link():
    masked, table = round_trip("[![Build](https://ci.example/badge.svg)](https://ci.example/run)")
    assert masked == "[![Build](⟦1⟧)](⟦2⟧)"
    assert table == {"⟦1⟧": "https://ci.example/badge.svg", "⟦2⟧": "https://ci.example/run"}


def test_link_text_over_two_lines_with_brackets_inside():
    masked, table = round_trip("A [long [nested] link\ntext](https://e.x/y) end")
    assert masked == "A [long [nested] link\ntext](⟦1⟧) end"


def test_reference_link_label_is_masked_shortcut_is_not():
    masked, table = round_trip("Use [the tool][tool-ref] or [tool] or [tool][].")
    assert masked == "Use [the tool][⟦1⟧] or [tool] or [tool][]."
    assert table == {"⟦1⟧": "tool-ref"}


def test_inline_html_with_attributes_is_masked_plain_tags_are_not():
    masked, table = round_trip('Click <a href="https://e.x" title=\'t\'>here</a> or <b>bold</b> <br/>.')
    assert masked == "Click ⟦1⟧here</a> or <b>bold</b> <br/>."
    assert table == {"⟦1⟧": "<a href=\"https://e.x\" title='t'>"}


@pytest.mark.parametrize(
    "text",
    [
        "Call `[x](https://e.x)` here.",
        "Call ``a ` [x](https://e.x) `` here.",
        "Call `https://e.x/raw` here.",
        "Call `<https://e.x>` here.",
        "Call `<a href=\"x\">` here.",
        "Across lines `a\n[x](y)` still code.",
        "Escaped \\` is no opener but `[a](b)` is code.",
    ],
)
def test_links_inside_inline_code_are_left_alone(text):
    assert mask_links(text) == (text, {})


def test_unmatched_backtick_does_not_hide_a_link():
    masked, table = round_trip("A ` stray backtick [x](https://e.x/1).")
    assert table == {"⟦1⟧": "https://e.x/1"}


def test_code_span_does_not_cross_a_blank_line_heading_or_table_row():
    text = "Para ` one.\n\nPara [x](https://e.x/1) ` two.\n\n# Title `\nText [y](https://e.x/2) `.\n"
    text += "\n| `a | [z](https://e.x/3) |\n|---|---|\n| b` | c |\n"
    masked, table = round_trip(text)
    assert list(table.values()) == ["https://e.x/1", "https://e.x/2", "https://e.x/3"]


def test_same_target_twice_gets_two_tokens():
    masked, table = round_trip("[a](https://e.x) and [b](https://e.x)")
    assert masked == "[a](⟦1⟧) and [b](⟦2⟧)"


def test_no_links_no_table():
    assert mask_links("Plain words, (parens) and [brackets].") == ("Plain words, (parens) and [brackets].", {})
    assert mask_links("") == ("", {})


def test_text_already_holding_token_lookalikes_gets_another_tag():
    text = "Math ⟦1⟧ and ⟦L2⟧ and [a link](https://e.x)."
    masked, table = round_trip(text)
    assert masked == "Math ⟦1⟧ and ⟦L2⟧ and [a link](⟦LL1⟧)."
    assert table == {"⟦LL1⟧": "https://e.x"}
    # The original look-alikes are not taken for tokens on the way back.
    assert unmask_links("Math ⟦1⟧ and ⟦L2⟧ and [a link](⟦LL1⟧)!", table) == "Math ⟦1⟧ and ⟦L2⟧ and [a link](https://e.x)!"


def test_crlf_is_kept_in_masked_text_and_tables():
    masked, table = round_trip("Line [a](https://e.x\r\n'title')\r\nnext https://e.y\r\n")
    assert masked == "Line [a](⟦1⟧)\r\nnext ⟦2⟧\r\n"


def test_unmask_accepts_a_rewritten_text_with_moved_tokens():
    masked, table = mask_links("Teh [first](https://e.x/1) and teh [second](https://e.x/2).")
    answer = "The [second](⟦2⟧) and the [first](⟦1⟧)."
    assert unmask_links(answer, table) == "The [second](https://e.x/2) and the [first](https://e.x/1)."


def test_unmask_replacement_is_literal():
    table = {"⟦1⟧": r"C:\path\1 \g<0> $1"}
    assert unmask_links("x ⟦1⟧ y", table) == r"x C:\path\1 \g<0> $1 y"


def test_unmask_missing_token_is_an_error_naming_it():
    _, table = mask_links("[a](https://e.x/1) [b](https://e.x/2)")
    with pytest.raises(LinkTokenError, match="missing ⟦2⟧") as caught:
        unmask_links("[a](⟦1⟧) [b]()", table)
    assert caught.value.missing == ["⟦2⟧"] and not caught.value.duplicated and not caught.value.unknown
    assert isinstance(caught.value, ValueError)


def test_unmask_duplicated_token_is_an_error():
    _, table = mask_links("[a](https://e.x/1)")
    with pytest.raises(ValueError, match="duplicated ⟦1⟧"):
        unmask_links("[a](⟦1⟧) and again [a](⟦1⟧)", table)


def test_unmask_unknown_token_is_an_error():
    _, table = mask_links("[a](https://e.x/1)")
    with pytest.raises(LinkTokenError, match="unknown ⟦7⟧") as caught:
        unmask_links("[a](⟦1⟧) [b](⟦7⟧)", table)
    assert caught.value.unknown == ["⟦7⟧"]


def test_unmask_altered_token_is_missing_and_unknown():
    _, table = mask_links("[a](https://e.x/1)")
    with pytest.raises(LinkTokenError) as caught:
        unmask_links("[a](⟦01⟧)", table)
    assert caught.value.missing == ["⟦1⟧"] and caught.value.unknown == ["⟦01⟧"]
    with pytest.raises(LinkTokenError, match="missing ⟦1⟧"):
        unmask_links("[a](⟦ 1⟧)", table)


def test_unmask_with_empty_table_returns_text():
    assert unmask_links("anything ⟦1⟧", {}) == "anything ⟦1⟧"


def test_unmask_rejects_a_table_that_is_not_of_tokens():
    with pytest.raises(ValueError, match="not a link token"):
        unmask_links("x", {"LINK1": "https://e.x"})


def test_destination_nesting_is_limited_like_commonmark():
    assert mask_links("[a](" + "(" * 32 + "x" + ")" * 32 + ")")[1] != {}
    assert mask_links("[a](" + "(" * 33 + "x" + ")" * 33 + ")")[1] == {}


@pytest.mark.parametrize("text", ["[](" * 10000, "https://" * 20000, "[a](b " * 10000, "`" * 5000 + " ``x" * 2000, "[a][" * 10000])
def test_pathological_inputs_round_trip_in_linear_time(text):
    # Each of these was (or would be, done naively) quadratic: minutes, not milliseconds.
    masked, table = round_trip(text)
    split(text)


LINK_FORMS = [
    "[text {n}](https://leak.example/{n})",
    '[text {n}](https://leak.example/{n} "title {n}")',
    "![alt {n}](https://leak.example/{n}.png)",
    "<https://leak.example/{n}>",
    "<leak{n}@leak.example>",
    "https://leak.example/{n}",
    "[ref {n}][leak.example-{n}]",
    '<img src="https://leak.example/{n}" alt="x">',
    "[`code` {n}](<https://leak.example/{n} x>)",
]
CODE_FORMS = ["`[c](https://code.example/{n})`", "``https://code.example/{n}``"]
FILLER = ["Some words.", "More, words!", "(parens)", "[brackets]", "a_b", "*em*", "\n", "\n\n", "> ", "- ", "# "]


@pytest.mark.parametrize("seed", range(200))
def test_generated_prose_never_sends_a_target(seed):
    rng = random.Random(seed)
    parts = []
    for n in range(rng.randint(1, 12)):
        parts.append(rng.choice(FILLER))
        form = rng.choice(LINK_FORMS + CODE_FORMS)
        parts.append(form.format(n=n))
        parts.append(rng.choice([" ", "\n", ". ", ", "]))
    text = "".join(parts)
    if rng.random() < 0.3:
        text = text.replace("\n", "\r\n")
    masked, table = round_trip(text)
    assert "leak" not in masked, masked
    assert masked.count("code.example") == text.count("code.example")  # code spans untouched
    assert len(re.findall(r"⟦\d+⟧", masked)) == len(table)
    # markdown-it sees the masked text's links pointing at tokens only.
    for token in MarkdownIt("commonmark").parse(masked):
        for child in token.children or []:
            if child.type in ("link_open", "image"):
                href = unquote(child.attrGet("href") or child.attrGet("src") or "")
                assert re.fullmatch(r"⟦\d+⟧", href), href


def test_prose_segments_of_a_document_mask_and_unmask():
    text = (
        "---\nurl: https://front.example\n---\n# Title with [a link](https://e.x/t)\n\n"
        "```\n[code](https://code.example)\n```\n\n[ref]: https://ref.example\n\nText <https://e.x/a>.\n"
    )
    rebuilt = []
    for segment in split(text):
        if not segment.rewrite:
            rebuilt.append(segment.text)
            continue
        masked, table = mask_links(segment.text)
        assert "https://" not in masked
        rebuilt.append(unmask_links(masked.upper(), table))
    assert "".join(rebuilt).count("https://") == 5
