"""What fetch does to files: a 1,000-file job in several chunks, in place with backups, staleness, Markdown-safe layouts."""

from __future__ import annotations

import json

import pytest

from llmcli.batch.units import layout
from llmcli.providers import batch_openai
from llmcli.providers.batch import Limits
from tests.batch.conftest import make_tree, upper

from .conftest import make_files, state_dir


def test_a_thousand_files_in_four_chunks(pb, monkeypatch, isolated_env):
    monkeypatch.setitem(batch_openai.LIMITS, "openai", Limits(300, 10 * 2**20))  # 270 requests a chunk
    files = make_tree(pb.work / "d", 1000)
    job = pb.submit("d", out="out")
    assert pb.creates() == 4 and len(pb.fake.uploads()) == 4
    sizes = sorted(len(b.requests) for b in pb.fake.store.batches.values())
    assert sizes == [190, 270, 270, 270]
    all_ids = [cid for b in pb.fake.store.batches.values() for cid, _ in b.requests]
    assert len(set(all_ids)) == 1000
    pb.settle(job)
    done = pb.jobs("fetch", job, "--report", "r.jsonl")
    assert done.code == 0, done.stderr
    for path, text in files.items():
        assert (pb.work / "out" / path.relative_to(pb.work / "d")).read_text() == upper(text)
    assert "written 1000" in done.stderr
    assert len((pb.work / "r.jsonl").read_text().splitlines()) == 1000
    status = json.loads(pb.jobs("status", job, "--json").stdout)
    assert status["counts"] == {"succeeded": 1000} and status["written"] == 1000
    assert [c["requests"] for c in status["chunks"]] == [270, 270, 270, 190]
    manifest = json.loads((state_dir(isolated_env) / job / "manifest.json").read_text())
    assert manifest["done"] is True


def test_chunks_keep_one_model_each(pb, monkeypatch):
    from llmcli import jobs
    from llmcli.batch.plan import OutputMode, plan
    from llmcli.jobs.submission import SubmitOptions
    from llmcli.providers.base import Message, Request

    make_files(pb.work / "d", {f"f{i}.txt": f"text {i}\n" for i in range(6)})

    def two_models(job, text):
        model = "model-a" if job.source.name in ("f0.txt", "f2.txt", "f4.txt") else "model-b"
        return Request(messages=(Message("user", text),), model=model)

    planned = plan(["d"], mode=OutputMode(pb.work / "out"))
    jobs.submit(planned, two_models, pb.profile(), options=SubmitOptions(quiet=True))
    models = sorted(b.extra["model"] for b in pb.fake.store.batches.values())
    assert models == ["model-a", "model-b"]
    assert all(len(b.requests) == 3 for b in pb.fake.store.batches.values())


def test_in_place_keeps_backups_and_the_journal_skips_later(pb, isolated_env):
    files = make_files(pb.work / "d", {"a.txt": "alpha\n", "b.txt": "beta\n"})
    job = pb.submit("d", in_place=True)
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    for path, text in files.items():
        assert path.read_text() == text.upper()
        assert path.with_name(path.name + ".bak").read_text() == text
    # The shared journal knows these files are done: the same command submits nothing new.
    from llmcli import errors as E

    with pytest.raises(E.UsageError, match="nothing to submit"):
        pb.submit("d", in_place=True)
    assert pb.creates() == 1
    assert len(list(state_dir(isolated_env).iterdir())) == 1  # no half-made job left behind


def test_stale_source_in_place_goes_beside_it(pb):
    files = make_files(pb.work / "d", {"a.txt": "alpha\n", "b.txt": "beta\n"})
    job = pb.submit("d", in_place=True)
    pb.settle(job)
    edited = pb.work / "d" / "a.txt"
    edited.write_text("alpha, edited by hand meanwhile\n")
    done = pb.jobs("fetch", job)
    assert done.code == 3, done.stderr
    assert edited.read_text() == "alpha, edited by hand meanwhile\n"  # never overwritten
    assert (pb.work / "d" / "a.txt.llmcli-new").read_text() == "ALPHA\n"
    assert not (pb.work / "d" / "a.txt.bak").exists()
    assert (pb.work / "d" / "b.txt").read_text() == "BETA\n"
    assert "d/a.txt changed since it was submitted" in done.stderr and "a.txt.llmcli-new" in done.stderr
    beside = pb.work / "d" / "a.txt.llmcli-new"
    stamp = beside.stat().st_mtime_ns
    again = pb.jobs("fetch", job)  # idempotent: nothing rewritten, the same answer and exit code
    assert again.code == 3
    assert "already written 1, beside a changed source 1" in again.stderr
    assert beside.stat().st_mtime_ns == stamp
    forced = pb.jobs("fetch", job, "--force")
    assert forced.code == 0, forced.stderr
    assert edited.read_text() == "ALPHA\n"
    assert (pb.work / "d" / "a.txt.bak").read_text() == "alpha, edited by hand meanwhile\n"
    del files


def test_stale_source_with_out_is_written_and_reported(pb):
    make_files(pb.work / "d", {"a.txt": "alpha\n"})
    job = pb.submit("d", out="out")
    pb.settle(job)
    (pb.work / "d" / "a.txt").write_text("changed\n")
    done = pb.jobs("fetch", job, "--report", "r.jsonl")
    assert done.code == 0, done.stderr
    assert (pb.work / "out" / "a.txt").read_text() == "ALPHA\n"
    assert "d/a.txt changed since it was submitted" in done.stderr
    assert "changed since" in json.loads((pb.work / "r.jsonl").read_text())["error"]


def test_suffix_mode(pb):
    make_files(pb.work / "d", {"a.txt": "alpha\n"})
    job = pb.submit("d", suffix=".up")
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    assert (pb.work / "d" / "a.up.txt").read_text() == "ALPHA\n"
    assert (pb.work / "d" / "a.txt").read_text() == "alpha\n"


MARKDOWN = """---
title: keep me
tags: [a, b]
---

# A title to rewrite

Some prose with a [link](https://example.com/Keep-Case "and a Title") in it.

```python
def untouched():
    return "code stays exactly as it is"
```

<div class="raw">html stays</div>

Last paragraph here.
"""


def test_markdown_safe_files_are_byte_identical_outside_prose(pb):
    """units.py layout -> request lines -> results -> assemble: only prose changes, the rest byte for byte."""
    (pb.work / "d").mkdir()
    (pb.work / "d" / "doc.md").write_text(MARKDOWN, encoding="utf-8")
    job = pb.submit("d", out="out", max_chars=60)
    sent = [text for b in pb.fake.store.batches.values() for _, text in b.requests]
    assert len(sent) == 2  # the two prose runs, nothing else
    assert not any("untouched" in t or "keep me" in t or "html stays" in t or "example.com" in t for t in sent)
    pb.settle(job)
    assert pb.jobs("fetch", job).code == 0
    result = (pb.work / "out" / "doc.md").read_text(encoding="utf-8")
    # What the same layout gives with every unit's core upper-cased (the fake's rewrite), put back locally.
    lay = layout(MARKDOWN, max_chars=60, markdown_safe=True)
    expected = lay.assemble([u.core.upper() for u in lay.units])
    assert result == expected
    for kept in ("---\ntitle: keep me\ntags: [a, b]\n---\n", "def untouched():\n    return \"code stays exactly as it is\"",
                 '<div class="raw">html stays</div>', "(https://example.com/Keep-Case \"and a Title\")"):
        assert kept in result
    assert "SOME PROSE WITH A [LINK](https://example.com/Keep-Case" in result


def test_a_lost_link_token_fails_the_file_not_the_job(pb):
    """An answer that drops a masked link cannot be put back: that file fails, named; the rest are written."""
    from tests.fakes import batch_sim

    (pb.work / "d").mkdir()
    (pb.work / "d" / "doc.md").write_text("See [the docs](https://example.com/x) now.\n")
    (pb.work / "d" / "ok.txt").write_text("fine\n")
    original = batch_sim.rewrite
    import tests.fakes.openai_batch_wire as wire

    wire.rewrite = lambda text: "NO LINKS LEFT"  # type: ignore[assignment]
    try:
        job = pb.submit("d", out="out")
        pb.settle(job)
    finally:
        wire.rewrite = original  # type: ignore[assignment]
    done = pb.jobs("fetch", job)
    assert done.code == 3
    assert "failed d/doc.md" in done.stderr
    assert not (pb.work / "out" / "doc.md").exists()
    assert (pb.work / "out" / "ok.txt").read_text() == "NO LINKS LEFT\n"
