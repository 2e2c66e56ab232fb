"""The pieces without a wire: request ids, chunk limits, stored layouts, which kinds have an engine, host checks."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmcli import errors as E
from llmcli.batch.units import layout
from llmcli.jobs import layouts, store
from llmcli.jobs.submission import Chunker
from llmcli.providers.batch import Limits, unsupported
from llmcli.providers.batch_anthropic import same_host
from llmcli.providers.batch_openai import compatible_url

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@given(st.integers(0, 10**9), st.integers(0, 10**5), st.integers(1, 999))
def test_request_ids_are_valid_everywhere_and_map_back(file_no, unit_no, attempt):
    cid = store.request_id(file_no, unit_no, attempt)
    assert ID.match(cid)
    assert store.base_id(cid) == store.request_id(file_no, unit_no)


def test_chunks_respect_count_and_bytes_with_margin(tmp_path):
    limits = Limits(max_requests=10, max_bytes=1000)  # 9 requests, 900 bytes usable
    chunker = Chunker(tmp_path, limits)
    numbers = [chunker.add("m", b"x" * 99 + b"\n", f"f{i}") for i in range(20)]
    chunks = chunker.close()
    assert numbers == [0] * 9 + [1] * 9 + [2] * 2
    assert [c["count"] for c in chunks] == [9, 9, 2] and all(c["bytes"] <= 900 for c in chunks)
    assert (tmp_path / "000.request.jsonl").read_bytes() == (b"x" * 99 + b"\n") * 9
    small = Chunker(tmp_path / "s", Limits(1000, 1000))
    (tmp_path / "s").mkdir()
    assert [small.add("m", b"y" * 299 + b"\n", "f") for _ in range(4)] == [0, 0, 0, 1]  # bytes bind first
    small.close()


def test_a_request_over_the_line_limit_is_a_usage_error(tmp_path):
    chunker = Chunker(tmp_path, Limits(100, 10_000, max_line_bytes=100))
    with pytest.raises(E.UsageError, match="docs/big.md: one request is 200 bytes.*--max-input-chars"):
        chunker.add("m", b"z" * 200, "docs/big.md")
    chunker.abandon()


def test_layouts_round_trip():
    text = "---\na: 1\n---\n\n# T\n\nSome [x](http://e.com) prose.\n\n```\ncode\n```\n\nEnd.\n"
    lay = layout(text, max_chars=24_000, markdown_safe=True)
    again = layouts.load(layouts.dump(lay))
    assert again.parts == lay.parts
    assert again.assemble([u.core for u in again.units]) == text


def test_which_kinds_have_an_engine():
    for kind in ("openai", "groq", "dashscope", "anthropic", "gemini", "mistral"):
        assert unsupported(kind) is None
    for kind in ("lmstudio", "deepseek", "openrouter", "openai-compatible"):
        assert unsupported(kind)
    assert unsupported("openai-compatible", batch_flag=True) is None


def test_results_url_host_check():
    assert same_host("https://api.anthropic.com/v1/messages/batches/x/results", "https://api.anthropic.com")
    assert same_host("http://127.0.0.1:8080/r", "http://127.0.0.1:8080")
    assert not same_host("http://127.0.0.1:8081/r", "http://127.0.0.1:8080")
    assert not same_host("https://evil.example/r", "https://api.anthropic.com")
    assert not same_host("http://api.anthropic.com/r", "https://api.anthropic.com")  # no downgrade
    assert not same_host("/relative", "https://api.anthropic.com")


def test_dashscope_compatible_url():
    assert compatible_url("https://dashscope-intl.aliyuncs.com/api/v1") == \
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert compatible_url("https://dashscope.aliyuncs.com/compatible-mode/v1/") == \
        "https://dashscope.aliyuncs.com/compatible-mode/v1"
    assert compatible_url(None).endswith("/compatible-mode/v1")


def test_manifest_is_replaced_atomically(tmp_path, monkeypatch):
    job = store.create(tmp_path, {"schema": store.SCHEMA, "job": "20250101-000000-abcdef", "chunks": []})
    before = (job.path / "manifest.json").read_bytes()

    def torn(*args, **kwargs):
        raise OSError("disk full")

    import llmcli.jobs.store as module

    monkeypatch.setattr(module, "atomic_write_bytes", torn)
    job.manifest["state"] = "changed"
    with pytest.raises(OSError):
        job.save()
    assert (job.path / "manifest.json").read_bytes() == before
    assert json.loads(before)["job"] == "20250101-000000-abcdef"
    assert oct(job.path.stat().st_mode & 0o777) == "0o700"
