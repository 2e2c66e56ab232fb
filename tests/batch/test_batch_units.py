"""Long files in chunks and Markdown-safe mode, through the batch and the rewriting fake; the rate limiter."""

from __future__ import annotations

import re
import threading

import pytest

from llmcli.batch.markdown_safe import LinkTokenError
from llmcli.batch.ratelimit import RateLimiter
from llmcli.batch.units import TARGET_SHOWN, LinkTokensLost, layout

try:  # optional: the property test runs when hypothesis is installed (the test extra has it)
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - depends on the environment
    given = None

MD = """---
title: "Keep me: [x](y)"
tags: [a, b]
---
# A heading

Some prose with a [link](https://example.com/Path_Keep "Title Keep") and `inline code`.

```python
def keep_me():
    return "exactly"
```

<div class="keep">
  raw html
</div>

    indented code stays

[ref]: https://example.com/Ref_Keep

Closing words.
"""


def test_markdown_safe_keeps_code_front_matter_html_and_link_targets(cli, batch_env):
    server, rw, work = batch_env
    (work / "doc.md").write_text(MD)
    result = cli("batch", "doc.md", "-s", "fix", "--out", "o")
    assert result.code == 0, result.stderr
    out = (work / "o/doc.md").read_text()
    for kept in ('---\ntitle: "Keep me: [x](y)"\ntags: [a, b]\n---\n',
                 '```python\ndef keep_me():\n    return "exactly"\n```\n',
                 '<div class="keep">\n  raw html\n</div>\n', "    indented code stays\n",
                 "[ref]: https://example.com/Ref_Keep\n", "(https://example.com/Path_Keep \"Title Keep\")"):
        assert kept in out
    assert "# A HEADING" in out and "CLOSING WORDS." in out and "SOME PROSE WITH A [LINK]" in out
    sent = "".join(rw.texts)
    for secret in ("keep_me", "raw html", "indented code", "Ref_Keep", "Path_Keep", "title:"):
        assert secret not in sent  # never sent to the model
    assert len(out) == len(MD)  # only letters changed case


def test_no_markdown_safe_sends_the_whole_file(cli, batch_env):
    server, rw, work = batch_env
    (work / "doc.md").write_text(MD)
    assert cli("batch", "doc.md", "-s", "fix", "--out", "o", "--no-markdown-safe", "-q").code == 0
    assert len(server.requests) == 1 and "keep_me" in rw.texts[0]


def test_long_file_is_chunked_in_order_with_code_block_whole(cli, batch_env):
    server, rw, work = batch_env
    paragraphs = [f"Paragraph {i} " + "word " * 30 for i in range(12)]
    code = "```\n" + "\n".join(f"line {i} of code" for i in range(30)) + "\n```"
    text = "\n\n".join(paragraphs[:6] + [code] + paragraphs[6:]) + "\n"
    (work / "long.txt").write_text(text)
    result = cli("batch", "long.txt", "-s", "fix", "--out", "o", "--max-input-chars", "400")
    assert result.code == 0, result.stderr
    assert len(server.requests) > 5
    assert "chunks)" in result.stderr
    assert (work / "o/long.txt").read_text() == text.upper()  # every chunk back, in order, nothing lost
    code_chunks = [t for t in rw.texts if "line 0 of code" in t]
    assert len(code_chunks) == 1 and "line 29 of code" in code_chunks[0]  # the fence was never cut


def test_a_cut_answer_fails_the_file_instead_of_truncating(cli, batch_env):
    from tests.fakes.openai_wire import stream_reply

    server, rw, work = batch_env
    (work / "a.txt").write_text("some text\n")
    server.enqueue(stream_reply(["SOME"], finish="length"))
    result = cli("batch", "a.txt", "-s", "fix", "--out", "o")
    assert result.code == 3
    assert "cut at the token limit" in result.stderr
    assert not (work / "o/a.txt").exists()


def test_a_lost_link_token_fails_the_file(cli, batch_env):
    from tests.fakes.openai_wire import stream_reply

    server, rw, work = batch_env
    (work / "a.md").write_text("See [docs](https://x.y/z).\n")
    server.enqueue(stream_reply(["See the docs."]))
    result = cli("batch", "a.md", "-s", "fix", "--out", "o", "--retries", "0")
    assert result.code == 3
    assert "a.md" in result.stderr and not (work / "o/a.md").exists()
    assert "the model dropped 1 link (⟦1⟧ → https://x.y/z) from its answer" in result.stderr
    assert "--no-markdown-safe sends the Markdown whole" in result.stderr


def test_a_hard_cut_inside_a_link_token_leaves_no_token_behind(cli, batch_env):
    """An unbroken CJK run longer than --max-input-chars, cut where a token lies (issue 10, fault 5)."""
    _, rw, work = batch_env
    text = "字" * 194 + "[链接](https://example.com/x)" + "字" * 300 + "\n"  # masked, the token is at 199..202
    (work / "a.md").write_text(text, encoding="utf-8")
    result = cli("batch", "a.md", "-s", "fix", "--out", "o", "--max-input-chars", "200")
    assert result.code == 0, result.stderr
    assert (work / "o/a.md").read_text(encoding="utf-8") == text  # the fake upper-cases: CJK is unchanged
    assert len(rw.texts) > 1 and sum(t.count("⟦1⟧") for t in rw.texts) == 1
    assert all(t.count("⟦") == t.count("⟧") for t in rw.texts)  # no half token was sent


# -- the layout alone ---------------------------------------------------------------------------------

TOKEN = re.compile(r"⟦L*\d+⟧")


def identity(plan) -> list[str]:
    return [unit.core for unit in plan.units]


def test_tokens_are_numbered_across_the_file_and_tagged_against_it():
    text = "A [a](https://a.x) b.\n\n```\n⟦1⟧ in code\n```\n\nC [c](https://c.x) d.\n"
    plan = layout(text, max_chars=1000, markdown_safe=True)
    assert plan.tag == "L"  # "⟦1⟧" sits in the code block: tokens must not look like it
    assert list(plan.links) == ["⟦L1⟧", "⟦L2⟧"]
    assert [list(u.links) for u in plan.units] == [["⟦L1⟧"], ["⟦L2⟧"]]
    assert plan.assemble(identity(plan)) == text


@pytest.mark.parametrize("max_chars", range(1, 60))
def test_no_chunk_cut_splits_a_token(max_chars):
    text = "字" * 20 + "[a](https://a.x)" + "identifier_" * 4 + "<https://b.x>" + "字" * 9 + "https://c.x/d字\n"
    plan = layout(text, max_chars=max_chars, markdown_safe=True)
    sent = [TOKEN.findall(unit.core) for unit in plan.units]
    assert sorted(t for tokens in sent for t in tokens) == sorted(plan.links)  # each whole, once
    assert all(unit.core.count("⟦") == len(TOKEN.findall(unit.core)) for unit in plan.units)
    assert plan.assemble(identity(plan)) == text


def lose(plan, transform):
    with pytest.raises(LinkTokensLost) as caught:
        plan.assemble([transform(i, core) for i, core in enumerate(identity(plan))])
    return caught.value


def test_every_kind_of_token_loss_fails_the_file():
    text = "One [a](https://a.x) two [b](https://b.x).\n\nThree [c](https://c.x).\n"
    plan = layout(text, max_chars=20, markdown_safe=True)
    assert len(plan.units) > 2
    dropped = lose(plan, lambda i, core: core.replace("⟦2⟧", ""))
    assert dropped.missing == ["⟦2⟧"] and dropped.extra == []
    assert dropped.units == [i for i, unit in enumerate(plan.units) if "⟦2⟧" in unit.links]  # ask these again
    assert str(dropped) == ("the model dropped 1 link (⟦2⟧ → https://b.x) from its answer; "
                            "--no-markdown-safe sends the Markdown whole")
    repeated = lose(plan, lambda i, core: core.replace("⟦1⟧", "⟦1⟧ ⟦1⟧"))
    assert repeated.duplicated == ["⟦1⟧"] and repeated.extra == ["⟦1⟧"] and "repeated 1 link" in str(repeated)
    invented = lose(plan, lambda i, core: core + " ⟦9⟧" if i == 0 else core)
    assert invented.unknown == ["⟦9⟧"] and "⟦9⟧" in str(invented)
    # A token that moved to another chunk's answer: the counts over the file are right, the place is not.
    owner = next(i for i, unit in enumerate(plan.units) if "⟦3⟧" in unit.links)
    moved = lose(plan, lambda i, core: core.replace("⟦3⟧", "") if i == owner else core + " ⟦3⟧" if i == 0 else core)
    assert moved.missing == ["⟦3⟧"] and moved.unknown == ["⟦3⟧"] and moved.units == [0, owner]
    assert isinstance(dropped, LinkTokenError) and isinstance(dropped, ValueError)


def test_the_message_caps_long_targets_hides_credentials_and_says_it_retried():
    url = "https://user:hunter2@example.com/" + "x" * 5000
    text = "".join(f"Link [{n}]({url}{n}).\n\n" for n in range(5))
    plan = layout(text, max_chars=10_000, markdown_safe=True)
    err = lose(plan, lambda i, core: TOKEN.sub("", core))
    message = str(err)
    assert err.missing == list(plan.links) and err.targets == plan.links
    assert "dropped 5 links" in message and "and 2 more" in message and "hunter2" not in message
    assert len(message) < 3 * TARGET_SHOWN + 200
    retried = err.with_attempts(2)
    assert retried.missing == err.missing and retried.units == err.units == [0]
    assert "; retried once; --no-markdown-safe" in str(retried)
    assert "tried 3 times" in str(err.with_attempts(3))


def test_without_markdown_safe_tokens_are_just_text():
    text = "⟦1⟧ and [a](https://a.x)\n"
    plan = layout(text, max_chars=5, markdown_safe=False)
    assert plan.links == {} and plan.assemble([""] * len(plan.units)).strip() == ""


if given is not None:
    _WORDS = st.sampled_from(["word", "Word.", "why?", " ", " ", "\n", "\n\n", "\r\n", "# ", "- ", "> ",
                              "`code`", "⟦1⟧", "⟦L2⟧", "|", "\n|---|\n", "\n```\nhttps://in.code\n```\n"])
    _LINKS = st.sampled_from(["[t](https://e.x/a)", "![i](x.png \"T\")", "<https://e.x/b>", "https://e.x/c",
                              "[r][label]", "<a href=\"h\">", "www.e.x", "[x](<a b>)"])
    _RUNS = st.builds(lambda char, n: char * n, st.sampled_from(["字", "x", "_", "é", "\u0301"]), st.integers(1, 120))

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.lists(st.one_of(_WORDS, _LINKS, _RUNS), max_size=40), st.integers(1, 90))
    def test_hypothesis_mask_chunk_identity_assemble_is_the_file(pieces, max_chars):
        """Random Markdown with links and long unbroken runs: every token whole in one chunk, the file back exactly."""
        text = "".join(pieces)
        plan = layout(text, max_chars=max_chars, markdown_safe=True)
        tokens = re.compile(re.escape("⟦" + plan.tag) + r"\d+⟧")
        sent = [t for unit in plan.units for t in tokens.findall(unit.core)]
        assert sorted(sent) == sorted(plan.links)
        for unit in plan.units:
            assert list(unit.links) == tokens.findall(unit.core)
        assert plan.assemble(identity(plan)) == text
        assert layout(text, max_chars=max_chars, markdown_safe=False).assemble(
            identity(layout(text, max_chars=max_chars, markdown_safe=False))) == text


def test_layout_round_trips_without_a_model():
    plan = layout(MD, max_chars=60, markdown_safe=True)
    assert plan.assemble([u.core for u in plan.units]) == MD
    text = "a\n\n" * 200
    plan = layout(text, max_chars=50, markdown_safe=False)
    assert plan.assemble([u.core for u in plan.units]) == text


def test_rate_limiter_spaces_requests_evenly():
    now = [100.0]
    limiter = RateLimiter(rpm=60, clock=lambda: now[0])  # one per second
    assert [limiter.reserve() for _ in range(3)] == [0.0, 1.0, 2.0]
    now[0] = 110.0  # idle: no burst credit is saved up beyond the next slot
    assert limiter.reserve() == 0.0 and limiter.reserve() == 1.0


def test_rate_limiter_wait_is_cut_short_by_stop():
    from llmcli.errors import Interrupted

    limiter = RateLimiter(rpm=1)
    stop = threading.Event()
    limiter.acquire(stop)
    stop.set()
    with pytest.raises(Interrupted):
        limiter.acquire(stop)  # would wait 60 s
