"""Long files in chunks and Markdown-safe mode, through the batch and the rewriting fake; the rate limiter."""

from __future__ import annotations

import threading

import pytest

from llmcli.batch.ratelimit import RateLimiter
from llmcli.batch.units import layout

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
