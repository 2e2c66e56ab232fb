"""batch.chunking: whitespace split, chunking long texts without losing a character, token estimates."""

from __future__ import annotations

import random
import re

import pytest

from llmcli.batch.chunking import chunk_text, estimate_tokens, split_whitespace

try:  # optional: a property test runs when hypothesis is installed
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - depends on the environment
    given = None


def chunks(text: str, max_chars: int, **options) -> list[str]:
    result = chunk_text(text, max_chars, **options)
    assert "".join(result) == text
    assert all(result), "empty chunk"
    return result


def boundaries(pieces: list[str]) -> list[int]:
    """Offsets where one chunk ends and the next begins."""
    offsets, total = [], 0
    for piece in pieces[:-1]:
        total += len(piece)
        offsets.append(total)
    return offsets


# -- split_whitespace ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  hello world \n", ("  ", "hello world", " \n")),
        ("\r\n\tText.\r\n\r\n", ("\r\n\t", "Text.", "\r\n\r\n")),
        ("core", ("", "core", "")),
        ("", ("", "", "")),
        (" \n\t ", (" \n\t ", "", "")),
        ("\u00a0nbsp\u3000", ("\u00a0", "nbsp", "\u3000")),
        ("a  b", ("", "a  b", "")),
    ],
)
def test_split_whitespace(text, expected):
    assert split_whitespace(text) == expected
    assert "".join(split_whitespace(text)) == text


def test_split_whitespace_puts_a_rewrite_back_with_the_original_spacing():
    lead, core, trail = split_whitespace("\n\n  teh text  \n")
    assert lead + core.replace("teh", "the") + trail == "\n\n  the text  \n"


# -- chunk_text: contract --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_max_chars_below_one_is_an_error(bad):
    with pytest.raises(ValueError, match="max_chars"):
        chunk_text("text", bad)


def test_empty_text_gives_no_chunk():
    assert chunk_text("", 10) == []


def test_short_text_is_one_chunk():
    assert chunks("Short text.\n", 100) == ["Short text.\n"]
    assert chunks("Exactly ten", 11) == ["Exactly ten"]


# -- paragraphs ------------------------------------------------------------------------------------


def test_paragraphs_are_packed_greedily():
    paragraphs = [f"Paragraph number {n} is here..\n\n" for n in range(6)]  # 30 chars each
    assert all(len(p) == 30 for p in paragraphs)
    text = "".join(paragraphs)
    assert chunks(text, 100) == ["".join(paragraphs[0:3]), "".join(paragraphs[3:6])]
    assert chunks(text, 60) == ["".join(paragraphs[i : i + 2]) for i in (0, 2, 4)]
    assert chunks(text, 59) == paragraphs


def test_cuts_fall_after_blank_lines_when_paragraphs_fit():
    rng = random.Random(3)
    text = "".join(
        " ".join("word" for _ in range(rng.randint(3, 15))) + ".\n" + "\n" * rng.randint(1, 3) for _ in range(40)
    )
    pieces = chunks(text, 200)
    assert len(pieces) > 5
    for piece, following in zip(pieces, pieces[1:]):
        assert piece.endswith("\n\n"), piece
        assert not following.startswith("\n")  # blank lines stay with the paragraph before them
    assert all(len(p) <= 200 for p in pieces)


def test_a_paragraph_that_fits_is_never_split_even_if_it_starts_a_new_chunk():
    text = "a" * 40 + "\n\n" + "b" * 50 + "\n\n" + "c" * 10
    assert chunks(text, 60) == ["a" * 40 + "\n\n", "b" * 50 + "\n\n", "c" * 10]


def test_crlf_paragraphs():
    text = "First para.\r\n\r\nSecond para.\r\n\r\nThird para.\r\n"
    assert chunks(text, 20) == ["First para.\r\n\r\n", "Second para.\r\n\r\n", "Third para.\r\n"]
    assert chunks(text, 30) == ["First para.\r\n\r\n", "Second para.\r\n\r\nThird para.\r\n"]


# -- fenced code -------------------------------------------------------------------------------------

FENCE = "```python\ndef f():\n\n    return 1\n\n\nprint(f())\n```\n"


def test_fence_larger_than_max_is_one_chunk_of_its_own():
    text = "Intro paragraph.\n\n" + FENCE + "\nOutro paragraph.\n"
    pieces = chunks(text, 20)
    assert FENCE in pieces
    assert "Intro paragraph.\n\n" in pieces
    assert all(len(p) <= 20 for p in pieces if p != FENCE)


def test_fence_is_never_cut_at_its_blank_lines():
    text = "Intro.\n\n" + FENCE + "\nAfter.\n"
    start = text.index(FENCE)
    for max_chars in range(1, len(text) + 1):
        pieces = chunks(text, max_chars)
        for offset in boundaries(pieces):
            assert not start < offset < start + len(FENCE), (max_chars, pieces)


def test_tilde_fence_with_a_backtick_line_inside():
    fence = "~~~\nline\n\n```\n\nstill code\n~~~\n"
    text = "Para.\n\n" + fence + "\nEnd.\n"
    pieces = chunks(text, 12)
    assert fence in pieces


def test_unclosed_fence_runs_to_the_end_and_is_not_cut():
    text = "Para.\n\n```\ncode\n\nmore code\n\nand more"
    pieces = chunks(text, 8)
    assert pieces[-1] == "```\ncode\n\nmore code\n\nand more"


def test_fence_inside_a_list_item_is_not_cut():
    fence = "  ```\n  one\n\n  two\n  ```\n"
    text = "- Item:\n\n" + fence + "\n- Next item.\n"
    pieces = chunks(text, 10)
    assert fence in pieces


def test_fence_that_fits_packs_with_its_neighbours():
    text = "Intro.\n\n" + FENCE + "\nAfter.\n"
    assert chunks(text, len(text)) == [text]
    # A paragraph unit takes the blank lines after it: the fence's unit is FENCE + "\n".
    pieces = chunks(text, len("Intro.\n\n" + FENCE + "\n"))
    assert pieces == ["Intro.\n\n" + FENCE + "\n", "After.\n"]


def test_fence_like_line_in_indented_code_is_no_fence():
    text = "Para.\n\n    ```\n    code\n\nText after the code block goes on here.\n"
    pieces = chunks(text, 20)
    assert all(len(p) <= 20 for p in pieces)  # nothing was made an oversized block


# -- tables ------------------------------------------------------------------------------------------

TABLE = "| name | value |\n|------|------:|\n| one  | 1 |\n| two  | 2 |\n| three | 3 |\n"


def test_table_larger_than_max_is_one_chunk_of_its_own():
    """A model shown half a table has lost its header: a table is never cut, like a fence."""
    text = "Intro paragraph.\n\n" + TABLE + "\nOutro paragraph.\n"
    for max_chars in range(1, len(text)):
        pieces = chunks(text, max_chars)
        start = text.index(TABLE)
        for offset in boundaries(pieces):
            assert not start < offset < start + len(TABLE) - 1, (max_chars, pieces)
    assert TABLE in chunks(text, 20)


def test_table_in_a_list_item_or_a_quote_is_not_cut():
    for table in ("  | a | b |\n  |---|---|\n  | 1 | 2 |\n  | 3 | 4 |\n", "> | a | b |\n> |---|---|\n> | 1 | 2 |\n"):
        text = ("- Item:\n\n" if table.startswith(" ") else "") + table + "\nAfter.\n"
        assert table in chunks(text, 12), table


def test_pipes_without_a_delimiter_row_are_prose():
    text = "a | b | c\nd | e | f\ng | h | i\n"
    assert all(len(p) <= 10 for p in chunks(text, 10))


# -- unbreakable spans (Markdown-safe link tokens) ----------------------------------------------------

TOKEN = re.compile(r"⟦L*\d+⟧")


def test_hard_cut_never_splits_a_token_in_an_unbroken_run():
    """CJK text or a long identifier has no space to cut at: the hard cut moves before the token."""
    text = "漢字" * 20 + "⟦1⟧" + "字" * 7 + "⟦23⟧" + "x" * 30 + "⟦L456⟧漢"
    spans = [m.span() for m in TOKEN.finditer(text)]
    for max_chars in range(1, len(text) + 1):
        pieces = chunks(text, max_chars, unbreakable=TOKEN)
        for offset in boundaries(pieces):
            assert not any(a < offset < b for a, b in spans), (max_chars, pieces)
        for piece in pieces:  # only a token longer than max_chars makes a longer piece, ending with it
            assert len(piece) <= max_chars or TOKEN.search(piece) and len(TOKEN.search(piece).group()) > max_chars
    assert chunks(text, 42, unbreakable=TOKEN)[0] == "漢字" * 20  # cut moved back to the token's start


def test_without_a_pattern_a_token_may_be_cut():
    text = "字" * 10 + "⟦1⟧" + "字" * 10
    assert any("⟦1⟧" not in p and "⟦" in p for p in chunks(text, 11))
    assert any("⟦1⟧" in p for p in chunks(text, 11, unbreakable=TOKEN))


def test_an_unbreakable_span_across_words_or_lines_is_kept_whole():
    pattern = re.compile(r"<<.*?>>", re.DOTALL)
    text = "one two <<three four\nfive six>> seven eight\n"
    for max_chars in range(1, len(text)):
        pieces = chunks(text, max_chars, unbreakable=pattern)
        assert any("<<three four\nfive six>>" in p for p in pieces), (max_chars, pieces)


# -- long paragraphs ---------------------------------------------------------------------------------


def test_long_paragraph_is_cut_at_line_ends():
    lines = [f"This is line {n} of a long paragraph.\n" for n in range(8)]  # 37 chars each
    text = "".join(lines)
    pieces = chunks(text, 80)
    assert pieces == ["".join(lines[i : i + 2]) for i in range(0, 8, 2)]


def test_long_line_is_cut_at_sentence_ends():
    sentences = ["First sentence here. ", "Second one, a question? ", "Third: excited! ", "Fourth “quoted.” ", "Last."]
    text = "".join(sentences)
    assert chunks(text, 25) == sentences[:3] + ["Fourth “quoted.” Last."]
    assert chunks(text, 24) == sentences[:3] + ["Fourth “quoted.” Last."]


def test_sentences_are_packed():
    text = "One. Two. Three. Four. Five. Six."
    assert chunks(text, 12) == ["One. Two. ", "Three. ", "Four. Five. ", "Six."]


def test_cjk_sentences_are_cut_after_the_full_stop():
    text = "これは最初の文です。これは二番目の文です。三番目！"
    assert chunks(text, 12) == ["これは最初の文です。", "これは二番目の文です。", "三番目！"]


def test_long_sentence_is_cut_at_whitespace():
    words = [f"word{n:02d}" for n in range(30)]
    text = " ".join(words) + "\n"
    pieces = chunks(text, 25)
    assert all(len(p) <= 25 for p in pieces)
    for offset in boundaries(pieces):
        assert text[offset - 1].isspace() or text[offset].isspace(), "a word was cut"
    assert len(pieces) == 10  # 3 words of 7 chars (with their spaces) per chunk
    assert pieces[0] == "word00 word01 word02 "


def test_huge_word_is_cut_hard():
    text = "x" * 250
    assert chunks(text, 100) == ["x" * 100, "x" * 100, "x" * 50]


def test_huge_word_among_words():
    text = "short " + "y" * 25 + " tail"
    assert chunks(text, 10) == ["short ", "y" * 10, "y" * 10, "y" * 5 + " tail"]


def test_hard_cut_keeps_combining_marks_joiners_and_crlf_together():
    word = "e\u0301" * 10  # é as e + combining acute
    pieces = chunks(word, 3)
    assert all(not p.startswith("\u0301") for p in pieces)
    assert all(len(p) <= 3 for p in pieces)
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji of 5 code points
    assert chunks("ab" + family, 5) == ["ab", family]  # the hard cut moved back to before the cluster
    assert "".join(chunks(family, 2)) == family  # a cluster longer than the limit is cut anyway
    assert chunks("a\r\n" * 3, 2) == ["a", "\r\n"] * 3


def test_hard_cut_of_a_whitespace_run_does_not_split_crlf():
    assert chunks("a  \r\n", 3) == ["a  ", "\r\n"]


def test_max_chars_one_still_covers_everything():
    text = "Hé\r\nllo, 世界! ```\n~~ e\u0301\n\n"
    pieces = chunks(text, 1)
    assert all(len(p) == 1 for p in pieces)


# -- a generated corpus -------------------------------------------------------------------------------


def make_text(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """A random text and the (start, end) offsets of its fenced blocks and tables (never cut)."""
    parts: list[str] = []
    fences: list[tuple[int, int]] = []
    newline = rng.choice(["\n", "\r\n"])
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        if kind < 0.08:
            rows = [f"| {rng.choice(['a', 'word', '漢字'])} | {n} |" for n in range(rng.randint(1, 8))]
            block = newline.join(["| name | n |", "|---|--:|", *rows]) + newline
            parts.append(newline)  # a blank line before and after: nothing else joins the table
            start = sum(map(len, parts))
            fences.append((start, start + len(block)))
            parts.append(block + newline)
        elif kind < 0.2:
            marker = rng.choice(["```", "~~~", "````"])
            body = newline.join(rng.choice(["code()", "", "x = 1", "# c", "    indented"]) for _ in range(rng.randint(1, 6)))
            block = f"{marker}lang{newline}{body}{newline}{marker}{newline}"
            start = sum(map(len, parts))
            fences.append((start, start + len(block)))
            parts.append(block)
        elif kind < 0.3:
            parts.append("z" * rng.randint(1, 90) + " ")
        else:
            words = [rng.choice(["a", "word", "longer", "sentence.", "why?", "yes!", "漢字。", "e\u0301t\u00e9"]) for _ in range(rng.randint(1, 40))]
            line_breaks = rng.choice([" ", " ", newline])
            parts.append(line_breaks.join(words) + newline)
        parts.append(newline * rng.choice([1, 1, 2, 3]))
    text = "".join(parts)
    if rng.random() < 0.3:
        text = text.rstrip()
        fences = [(a, min(b, len(text))) for a, b in fences]
    return text, fences


@pytest.mark.parametrize("seed", range(200))
def test_generated_texts(seed):
    rng = random.Random(seed)
    text, fences = make_text(rng)
    for max_chars in (1, rng.randint(2, 30), rng.randint(30, 300), 10**6):
        pieces = chunks(text, max_chars)
        oversized = [p for p in pieces if len(p) > max_chars]
        for piece in oversized:  # only whole fenced blocks and tables may exceed the limit
            assert any(piece.rstrip("\r\n") == text[a:b].rstrip("\r\n") for a, b in fences), piece
        for offset in boundaries(pieces):
            for start, end in fences:
                assert not start < offset < end - (2 if text[end - 2 : end] == "\r\n" else 1), "a fence or table was cut"
    assert chunks(text, 10**6) == ([text] if text else [])


def test_generated_corpus_has_fences_tables_and_long_words():
    texts = [make_text(random.Random(seed)) for seed in range(200)]
    assert sum(bool(f) for _, f in texts) > 100
    assert sum("|--:|" in t for t, _ in texts) > 40
    assert sum(bool(re.search("z{60}", t)) for t, _ in texts) > 20


if given is not None:

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.text(alphabet=st.sampled_from(list("ab .!?\n\r\t`~|-\u0301\u200d漢")), max_size=200),
           st.integers(1, 40))
    def test_hypothesis_chunks_add_up(text, max_chars):
        pieces = chunks(text, max_chars)
        if "```" not in text and "~~~" not in text and "|" not in text:
            assert all(len(p) <= max_chars for p in pieces)


# -- estimate_tokens ----------------------------------------------------------------------------------


def test_estimate_tokens_latin_is_four_chars_a_token():
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 400) == 100
    assert estimate_tokens("café " * 80) == 100  # accented Latin counts as Latin


def test_estimate_tokens_cjk_is_one_token_a_character():
    assert estimate_tokens("漢字") == 2
    assert estimate_tokens("日本語のテキスト") == 8
    assert estimate_tokens("한국어") == 3
    assert estimate_tokens("你好，世界！") == 6  # fullwidth punctuation too


def test_estimate_tokens_mixed_and_other_scripts():
    assert estimate_tokens("abcd漢字") == 3
    assert estimate_tokens("Привет") == 3  # other scripts: 2 characters a token
    assert estimate_tokens("hello 世界, привет") == 7  # 8 Latin -> 2, 2 CJK -> 2, 6 Cyrillic -> 3


def test_estimate_tokens_grows_with_text_and_orders_cjk_above_latin():
    latin = "The quick brown fox jumps over the lazy dog. " * 20
    cjk = "敏捷的棕色狐狸跳过了懒狗。" * 20
    assert estimate_tokens(latin) == -(-len(latin) // 4)
    assert estimate_tokens(cjk) == len(cjk)
    assert estimate_tokens(latin + latin) > estimate_tokens(latin)
