"""The CLI as a user runs it (in-process, stdout/stderr as pipes), against the fake OpenAI server."""

from __future__ import annotations

import json

import pytest

from tests.fakes.openai_wire import Cut, Stall, error_reply, stream_error_event, stream_reply
from tests.fakes.server import sse

from .conftest import assert_one_line_error, closed_port


def user_content(request) -> str:
    return [m for m in request.json["messages"] if m["role"] == "user"][0]["content"]


def test_instruction_only(cli, fake_profile):
    result = cli("Explain", "what an API is")
    assert result.code == 0
    assert result.stdout == "Hello from fake server!\n"
    assert result.stderr == ""
    assert user_content(fake_profile.last) == "Explain what an API is"


def test_instruction_plus_stdin(cli, fake_profile):
    result = cli("Rewrite this formally", input="hey can u send the report asap\n")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    assert user_content(fake_profile.last) == "Rewrite this formally\n\n<text>\nhey can u send the report asap\n</text>"


def test_text_only_uses_default_system(cli, fake_profile):
    from llmcli.prompt import DEFAULT_SYSTEM

    assert cli("-", input="draft text").code == 0
    messages = fake_profile.last.json["messages"]
    assert messages == [{"role": "system", "content": DEFAULT_SYSTEM}, {"role": "user", "content": "draft text"}]


def test_files_are_labelled(cli, fake_profile, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("alpha\n")
    b.write_text("beta\n")
    assert cli("-f", str(a), "-f", str(b), "Fix the spelling").code == 0
    content = user_content(fake_profile.last)
    assert content.startswith("Fix the spelling\n\n")
    assert f'<file name="{a}">\nalpha\n</file>' in content and f'<file name="{b}">\nbeta\n</file>' in content


def test_file_dash_reads_stdin(cli, fake_profile, tmp_path):
    assert cli("-f", "-", "Shorten", input="piped words").code == 0
    assert "<text>\npiped words\n</text>" in user_content(fake_profile.last)


def test_json_output(cli, fake_profile):
    result = cli("--json", "hi")
    assert result.code == 0
    data = json.loads(result.stdout)
    assert data["text"] == "Hello from fake server!"
    assert data["profile"] == "fake" and data["provider"] == "openai-compatible"
    assert data["model"] == "fake-model"
    assert data["usage"] == {"input_tokens": 5, "output_tokens": 4, "total_tokens": 9, "reasoning_tokens": None}
    assert isinstance(data["seconds"], float) and data["seconds"] >= 0
    assert result.stdout.count("\n") == 1  # one object, one line


def test_json_when_server_omits_usage(cli, fake_profile):
    fake_profile.enqueue(stream_reply(usage=False))
    data = json.loads(cli("--json", "hi").stdout)
    assert data["usage"] == {"input_tokens": None, "output_tokens": None, "total_tokens": None, "reasoning_tokens": None}


def test_output_file_is_written_and_stdout_stays_empty(cli, fake_profile, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("previous")
    src = tmp_path / "in.txt"
    src.write_text("long text")
    result = cli("-o", str(out), "-f", str(src), "Shorten")
    assert result.code == 0 and result.stdout == ""
    assert out.read_text() == "Hello from fake server!\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp file left


def test_failed_call_leaves_output_file_untouched(cli, fake_profile, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("previous")
    fake_profile.enqueue(error_reply(500, "kaput", "server_error"))
    assert cli("-o", str(out), "hi").code == 1
    assert out.read_text() == "previous"


def test_output_into_missing_directory(cli, fake_profile, tmp_path):
    result = cli("-o", str(tmp_path / "no" / "out.txt"), "hi")
    assert result.code == 2
    assert_one_line_error(result.stderr, "does not exist")
    assert fake_profile.requests == []


def test_per_call_overrides(cli, fake_profile):
    result = cli("-m", "other", "-t", "0.2", "--max-tokens", "50", "--system", "You are terse.", "hi")
    assert result.code == 0
    body = fake_profile.last.json
    assert body["model"] == "other" and body["temperature"] == 0.2 and body["max_tokens"] == 50
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_profile_settings_reach_the_request(cli, config_file, openai_server):
    config_file(
        f"""
[profiles.p]
provider = "openai-compatible"
base_url = "{openai_server.url}/v1"
model = "prof-model"
temperature = 0.7
max_tokens = 77
system = "Profile system."
headers = {{ "X-Custom" = "yes" }}
api_key_env = "MY_KEY"
"""
    )
    assert cli("-p", "p", "hi", env={"MY_KEY": "sk-test-42"}).code == 0
    req = openai_server.last
    assert req.json["model"] == "prof-model" and req.json["temperature"] == 0.7 and req.json["max_tokens"] == 77
    assert req.json["messages"][0]["content"] == "Profile system."
    assert req.headers["x-custom"] == "yes"
    assert req.headers["authorization"] == "Bearer sk-test-42"


def test_llmcli_profile_env_and_flag_precedence(cli, config_file, openai_server):
    config_file(
        f"""
default_profile = "a"
[profiles.a]
provider = "openai-compatible"
base_url = "{openai_server.url}/a/v1"
[profiles.b]
provider = "openai-compatible"
base_url = "{openai_server.url}/b/v1"
[profiles.c]
provider = "openai-compatible"
base_url = "{openai_server.url}/c/v1"
"""
    )
    assert cli("hi").code == 0 and openai_server.last.path == "/a/v1/chat/completions"
    assert cli("hi", env={"LLMCLI_PROFILE": "b"}).code == 0 and openai_server.last.path == "/b/v1/chat/completions"
    assert cli("-p", "c", "hi").code == 0 and openai_server.last.path == "/c/v1/chat/completions"


def test_global_options_anywhere(cli, fake_profile, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(f'[profiles.z]\nprovider = "lmstudio"\nbase_url = "{fake_profile.url}/z/v1"\n')
    assert cli("-p", "z", "hi", "--config", str(other)).code == 0
    assert fake_profile.last.path == "/z/v1/chat/completions"


def test_usage_on_stderr(cli, fake_profile):
    result = cli("-u", "hi")
    assert result.stdout == "Hello from fake server!\n"
    assert "5 in + 4 out = 9 tokens" in result.stderr


def test_length_cut_is_warned(cli, fake_profile):
    fake_profile.enqueue(stream_reply(finish="length"))
    result = cli("hi")
    assert result.code == 0 and "token limit" in result.stderr


def test_unknown_profile(cli, fake_profile):
    result = cli("-p", "gorq", "hi")
    assert result.code == 2
    assert_one_line_error(result.stderr, "unknown profile 'gorq'", "did you mean 'groq'", "fake")


def test_missing_key_is_a_config_error(cli, fake_profile):
    result = cli("-p", "groq", "hi")
    assert result.code == 2
    assert_one_line_error(result.stderr, "profile 'groq'", "GROQ_API_KEY")


def test_bad_flag_value_is_one_line(cli, fake_profile):
    result = cli("-t", "5", "hi")
    assert result.code == 2
    assert_one_line_error(result.stderr, "--temperature")
    assert fake_profile.requests == []


def test_json_and_raw_conflict(cli, fake_profile):
    result = cli("--json", "--raw", "hi")
    assert result.code == 2
    assert_one_line_error(result.stderr, "--json and --raw")


def test_version(cli):
    from llmcli import __version__

    result = cli("--version")
    assert result.code == 0 and result.stdout == f"llmcli {__version__}\n"


# -- provider errors: one line, exit 1 ----------------------------------------------


@pytest.mark.parametrize(
    "reply, needles",
    [
        (error_reply(401, "Incorrect API key provided"), ["authentication failed", "HTTP 401", "Incorrect API key provided"]),
        (error_reply(403, "Forbidden region"), ["authentication failed", "HTTP 403", "Forbidden region"]),
        (error_reply(404, "model 'x' does not exist"), ["not found", "HTTP 404", "model 'x' does not exist", "llmcli models"]),
        (error_reply(400, "context too long"), ["request rejected", "HTTP 400", "context too long"]),
        (error_reply(429, "Rate limit reached", headers={"Retry-After": "7"}), ["rate limited", "HTTP 429", "retry after 7 s"]),
        (error_reply(500, "internal", "server_error"), ["server error", "HTTP 500", "internal"]),
        (error_reply(503, "overloaded now", "server_error"), ["server error", "HTTP 503", "overloaded now"]),
        (stream_reply(["Hel"], tail=sse([stream_error_event("boom in stream")])), ["error in stream", "boom in stream"]),
        (stream_reply(["Hel"], tail=[Cut()]), ["closed in the middle"]),
    ],
)
def test_provider_errors_are_one_line(cli, fake_profile, reply, needles):
    fake_profile.enqueue(reply)
    result = cli("hi")
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'fake'", *needles)


def test_timeout_is_one_line(cli, fake_profile):
    fake_profile.enqueue(stream_reply(["a"], tail=[Stall(5)]))
    result = cli("--timeout", "0.5", "hi")
    assert result.code == 1
    assert_one_line_error(result.stderr, "timed out", "0.5 s")
    assert result.stdout == "a\n"  # what arrived stays printed


def test_connection_refused(cli, config_file):
    config_file(f'[profiles.down]\nprovider = "lmstudio"\nbase_url = "http://127.0.0.1:{closed_port()}/v1"\nretries = 0\n')
    result = cli("-p", "down", "hi")
    assert result.code == 1
    assert_one_line_error(result.stderr, "connection failed", "connection refused", "LM Studio")


def test_debug_shows_traceback(cli, fake_profile):
    fake_profile.enqueue(error_reply(401, "nope"))
    result = cli("--debug", "hi")
    assert result.code == 1 and "Traceback" in result.stderr


# -- retries: ours, before the first word only ----------------------------------------


def _set_retries(config_file, server, retries: int) -> None:
    config_file(
        f'default_profile = "r"\n[profiles.r]\nprovider = "openai-compatible"\n'
        f'base_url = "{server.url}/v1"\nretries = {retries}\n'
    )


def test_retries_then_success(cli, config_file, openai_server, monkeypatch):
    monkeypatch.setattr("llmcli.retry.backoff", lambda attempt: 0.01)
    _set_retries(config_file, openai_server, 2)
    openai_server.enqueue(error_reply(503, "busy", "server_error"), error_reply(429, "slow", headers={"Retry-After": "0.05"}))
    result = cli("hi")
    assert result.code == 0
    assert result.stdout == "Hello from fake server!\n"
    assert len(openai_server.requests) == 3
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 2 and "retry 1/2" in notes[0] and "retry 2/2 in 0.1 s" in notes[1]


def test_retries_give_up(cli, config_file, openai_server, monkeypatch):
    monkeypatch.setattr("llmcli.retry.backoff", lambda attempt: 0.01)
    _set_retries(config_file, openai_server, 1)
    openai_server.enqueue(error_reply(500, "a", "server_error"), error_reply(500, "b", "server_error"))
    result = cli("hi")
    assert result.code == 1 and len(openai_server.requests) == 2
    assert "HTTP 500 b" in result.stderr.splitlines()[-1]


def test_auth_errors_are_not_retried(cli, config_file, openai_server):
    _set_retries(config_file, openai_server, 2)
    openai_server.enqueue(error_reply(401, "bad key"))
    assert cli("hi").code == 1
    assert len(openai_server.requests) == 1


def test_long_retry_after_is_not_waited_for(cli, config_file, openai_server):
    _set_retries(config_file, openai_server, 2)
    openai_server.enqueue(error_reply(429, "quota", headers={"Retry-After": "3600"}))
    result = cli("hi")
    assert result.code == 1 and len(openai_server.requests) == 1
    assert "retry after 3600 s" in result.stderr


def test_no_retry_after_text_started(cli, config_file, openai_server):
    _set_retries(config_file, openai_server, 2)
    openai_server.enqueue(stream_reply(["partial"], tail=[Cut()]))
    result = cli("hi")
    assert result.code == 1 and len(openai_server.requests) == 1
    assert result.stdout == "partial\n"


def test_server_rejecting_stream_options_still_answers(cli, fake_profile):
    fake_profile.enqueue(error_reply(400, "Unrecognized request argument supplied: stream_options"))
    result = cli("hi")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    assert "stream_options" not in fake_profile.last.json


def test_models_command(cli, fake_profile):
    result = cli("models")
    assert result.code == 0 and result.stdout == "fake-model\nother-model\n"
    assert fake_profile.last.path == "/v1/models"


def test_instruction_may_start_with_the_hidden_command_name(cli, fake_profile):
    assert cli("run", "the", "tests").code == 0
    assert user_content(fake_profile.last) == "run the tests"


def test_double_dash_sends_a_command_name_as_text(cli, fake_profile):
    assert cli("--", "profiles", "of", "people").code == 0
    assert user_content(fake_profile.last) == "profiles of people"


def test_options_before_a_command_go_to_it(cli, fake_profile):
    result = cli("-p", "fake", "models")
    assert result.code == 0 and result.stdout == "fake-model\nother-model\n"
    assert cli("--json", "models", "are", "great").code == 2  # models takes no --json: a clear error


def test_connection_refused_is_not_retried(cli, config_file):
    config_file(f'[profiles.down]\nprovider = "lmstudio"\nbase_url = "http://127.0.0.1:{closed_port()}/v1"\nretries = 2\n')
    result = cli("-p", "down", "hi")
    assert result.code == 1
    assert_one_line_error(result.stderr, "LM Studio (profile 'down'): connection failed")  # no "retry" notes


def test_in_place_edit_keeps_a_backup(cli, fake_profile, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("teh original\n")
    result = cli("-f", str(notes), "-o", str(notes), "Fix the spelling")
    assert result.code == 0
    assert notes.read_text() == "Hello from fake server!\n"
    assert (tmp_path / "notes.txt.bak").read_text() == "teh original\n"
    assert "original is kept in" in result.stderr
    # a second in-place edit never overwrites the first backup (the only copy of the original)
    notes.write_text("edited by hand\n")
    assert cli("-f", str(notes), "-o", str(notes), "Fix the spelling").code == 0
    assert (tmp_path / "notes.txt.bak").read_text() == "teh original\n"
    assert (tmp_path / "notes.txt.bak.2").read_text() == "edited by hand\n"


def test_empty_answer_never_overwrites_the_output(cli, fake_profile, tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("keep me")
    fake_profile.enqueue(stream_reply([]))
    result = cli("-o", str(out), "hi")
    assert result.code == 1
    assert_one_line_error(result.stderr, "returned no text", "left unchanged")
    assert out.read_text() == "keep me"


def test_empty_answer_is_warned_on_stdout_runs(cli, fake_profile):
    fake_profile.enqueue(stream_reply([]))
    result = cli("hi")
    assert result.code == 0 and result.stdout == ""
    assert "returned no text" in result.stderr


def test_config_option_without_a_path(cli):
    result = cli("profiles", "--config")
    assert result.code == 2
    assert_one_line_error(result.stderr, "'--config' needs a path")


def test_debug_and_config_after_a_subcommand(cli, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('default_profile = "mistral"\n')
    result = cli("profiles", "--config", str(path), "--debug")
    assert result.code == 0
    assert [line for line in result.stdout.splitlines() if line.startswith("*")][0].split()[1] == "mistral"


def test_output_directory_that_cannot_be_written_is_found_before_the_request(cli, fake_profile, tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere; the check is os.access's")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli("-o", str(locked / "out.txt"), "hi")
    finally:
        locked.chmod(0o700)
    assert result.code == 2 and not fake_profile.requests
    assert "is not writable" in result.stderr


def test_an_answer_that_cannot_be_written_is_printed_not_lost(cli, fake_profile, tmp_path):
    """The place vanished while the (paid) request ran: exit 74, the answer on stdout instead."""
    from tests.fakes.openai_wire import stream_reply

    where = tmp_path / "out"
    where.mkdir()

    def pull_the_rug(request):
        where.rmdir()
        where.write_text("now a file, not a directory")
        return stream_reply()

    fake_profile.enqueue(pull_the_rug)
    result = cli("-o", str(where / "answer.txt"), "hi")
    assert result.code == 74
    assert result.stdout == "Hello from fake server!\n"
    assert "cannot write" in result.stderr and "printed on stdout instead" in result.stderr


def test_first_run_without_any_provider_names_both_ways_out(cli, config_file):
    """No key variable, nothing chose a profile, nothing listens where LM Studio would: a setup problem."""
    config_file(f'[profiles.lmstudio]\nbase_url = "http://127.0.0.1:{closed_port()}/v1"\n')
    result = cli("hi")
    assert result.code == 2
    assert_one_line_error(result.stderr, "no provider is set up", "OPENAI_API_KEY", "start a local server at http://127.0.0.1:")
    # A profile the user chose stays a connection failure (exit 1), named as such.
    result = cli("-p", "lmstudio", "hi")
    assert result.code == 1 and "connection failed" in result.stderr
