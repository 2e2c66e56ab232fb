"""Thinking models through the CLI, for all nine built-in profiles: the answer alone reaches stdout,
``-o`` files, ``--json``'s text, batch files and diffs; ``--show-reasoning`` puts the thinking on
stderr (and in ``--json``'s ``reasoning``); reasoning tokens are counted apart.

The fakes stream each provider's real thinking shape (tests/providers/reasoning_cases.py).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import assert_one_line_error
from tests.fakes import openai_wire as O
from tests.providers.reasoning_cases import CASES, fresh, servers  # noqa: F401  (fixtures)
from tests.test_cli_process import run_on_pty


@pytest.fixture
def profile_at(config_file, fresh, monkeypatch):  # noqa: F811
    """Point the built-in profile at its fake, set its key variable; return (case, server)."""

    def use(name: str, extra: str = ""):
        case = CASES[name]
        server = fresh[case.wire]
        config_file(f'[profiles.{name}]\nbase_url = "{server.url}{case.prefix}"\n{extra}')
        if case.key_var:
            monkeypatch.setenv(case.key_var, "k")
        return case, server

    return use


@pytest.mark.parametrize("name", list(CASES))
def test_stdout_and_json_carry_the_answer_only(cli, profile_at, name):
    case, server = profile_at(name)
    server.enqueue(case.reply())
    result = cli("-p", name, "Rewrite", input="some text")
    assert result.code == 0, result.stderr
    assert result.stdout == case.answer + "\n"
    assert case.thinking == "" or case.thinking not in result.stdout + result.stderr

    server.enqueue(case.reply())
    out = json.loads(cli("-p", name, "--json", "Rewrite", input="some text").stdout)
    assert out["text"] == case.answer and "reasoning" not in out
    assert out["usage"]["reasoning_tokens"] == case.reasoning_tokens


@pytest.mark.parametrize("name", list(CASES))
def test_show_reasoning_puts_the_thinking_on_stderr_and_in_json(cli, profile_at, name):
    case, server = profile_at(name)
    server.enqueue(case.reply())
    result = cli("-p", name, "--show-reasoning", "Rewrite", input="some text")
    assert result.code == 0, result.stderr
    assert result.stdout == case.answer + "\n"
    if case.thinking:
        assert result.stderr.startswith("thinking:\n")
        assert case.thinking in result.stderr and case.answer not in result.stderr

    server.enqueue(case.reply())
    out = json.loads(cli("-p", name, "--json", "--show-reasoning", "Rewrite", input="some text").stdout)
    assert out["text"] == case.answer and out["reasoning"] == case.thinking


@pytest.mark.parametrize("name", list(CASES))
def test_output_files_and_batch_files_hold_the_answer_only(cli, profile_at, name, tmp_path, monkeypatch):
    case, server = profile_at(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("some text\n")
    server.enqueue(case.reply())
    assert cli("-p", name, "-f", "in.txt", "-o", "out.txt", "Rewrite").code == 0
    assert (tmp_path / "out.txt").read_text() == case.answer + "\n"

    server.enqueue(case.reply())
    result = cli("batch", "in.txt", "-p", name, "-i", "Rewrite", "--out", "o", "--report", "r.jsonl")
    assert result.code == 0, result.stderr
    assert (tmp_path / "o/in.txt").read_text() == case.answer + "\n"
    line = json.loads((tmp_path / "r.jsonl").read_text())
    assert line["tokens_reasoning"] == (case.reasoning_tokens or 0)


@pytest.mark.parametrize("name", ["openai", "anthropic", "gemini"])
def test_usage_line_counts_reasoning_tokens_apart(cli, profile_at, name):
    case, server = profile_at(name)
    server.enqueue(case.reply())
    result = cli("-p", name, "-u", "Rewrite", input="some text")
    assert f"({case.reasoning_tokens} of them reasoning)" in result.stderr


def test_diff_compares_the_answer_not_the_thinking(cli, profile_at):
    case, server = profile_at("lmstudio")
    server.enqueue(O.stream_reply(["<think>hmm</think>\n\n", "Some Text\n"]))
    result = cli("-p", "lmstudio", "-s", "fix", "--diff", input="some text\n")
    assert result.code == 0, result.stderr
    assert "-some text" in result.stdout and "+Some Text" in result.stdout
    assert "think" not in result.stdout and "hmm" not in result.stdout


def test_a_lone_closing_tag_is_stripped_where_the_whole_answer_is_known(cli, profile_at, tmp_path):
    """The chat template opened the block in the prompt: only '…</think>' arrives."""
    case, server = profile_at("lmstudio")
    server.enqueue(O.stream_reply(["The user wants", " a fix.</th", "ink>\n\n", "Fixed text."]))
    out = json.loads(cli("-p", "lmstudio", "--json", "-s", "fix", "--show-reasoning", input="fixd text").stdout)
    assert out["text"] == "Fixed text." and out["reasoning"] == "The user wants a fix."


def test_think_tags_open_splits_a_live_stream_too(cli, profile_at):
    case, server = profile_at("lmstudio", 'think_tags = "open"')
    server.enqueue(O.stream_reply(["The user wants", " a fix.</th", "ink>\n\n", "Fixed text."]))
    result = cli("-p", "lmstudio", "-s", "fix", input="fixd text")
    assert result.code == 0 and result.stdout == "Fixed text.\n"


def test_thinking_that_used_the_whole_budget_says_so(cli, profile_at):
    case, server = profile_at("deepseek")
    server.enqueue(O.stream_reply([], thinking=["Let me think", " at length"], finish="length",
                                  reasoning_tokens=50, completion_tokens=50))
    result = cli("-p", "deepseek", "-o", "x.txt", "-s", "fix", input="some text")
    assert result.code == 1
    assert_one_line_error(result.stderr, "the thinking used the whole token budget", "raise --max-tokens or lower --reasoning")


def test_a_level_the_model_cannot_take_is_refused_before_any_request(cli, profile_at):
    case, server = profile_at("gemini")
    result = cli("-p", "gemini", "--reasoning", "max", "Rewrite", input="some text")
    assert result.code == 2 and not server.requests
    assert "accepts" in result.stderr or "takes" in result.stderr
    result = cli("-p", "gemini", "--reasoning", "extreme", "Rewrite", input="some text")
    assert result.code == 2 and "expected one of off, low, medium, high, max" in result.stderr


def test_inline_thinking_is_never_drawn_on_a_terminal(profile_at):
    """On a pseudo-terminal (Rich's live rendering), no <think> and none of its text is ever drawn."""
    case, server = profile_at("lmstudio")
    server.enqueue(O.stream_reply(["<thi", "nk>\nsecret plan", " of the model\n</think>", "\n\n**Done** well.\n"]))
    code, drawn = run_on_pty("-p", "lmstudio", "Rewrite this")
    assert code == 0
    assert "Done" in drawn and "well" in drawn
    for leak in ("<thi", "think>", "secret plan", "of the model"):
        assert leak not in drawn


def test_markdown_safe_batch_from_a_thinking_model_is_byte_identical_outside_prose(cli, batch_thinking_env):
    server, work = batch_thinking_env
    doc = "# Title\n\nSome [prose](https://example.com/x) here.\n\n```python\nkeep = 1\n```\n\nMore prose.\n"
    (work / "doc.md").write_text(doc)
    result = cli("batch", "doc.md", "-s", "fix", "--out", "o")
    assert result.code == 0, result.stderr
    assert (work / "o/doc.md").read_text() == doc.replace("Title", "TITLE").replace(
        "Some [prose](https://example.com/x) here.", "SOME [PROSE](https://example.com/x) HERE.").replace(
        "More prose.", "MORE PROSE.")


@pytest.fixture
def batch_thinking_env(config_file, tmp_path, monkeypatch):
    """A rewriting fake that thinks first (inline <think>), then upper-cases what it was sent."""
    from tests.fakes.rewriter import sent_text
    from tests.fakes.server import FakeServer

    def think_then_rewrite(request):
        text = sent_text(request).rstrip("\n")
        return O.stream_reply(["<think>\nRewrite ", "it loud.\n</think>\n\n", text.upper()])

    server = FakeServer(think_then_rewrite).start()
    config_file(f'default_profile = "t"\n[profiles.t]\nprovider = "openai-compatible"\nbase_url = "{server.url}/v1"\n')
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield server, work
    server.stop()
