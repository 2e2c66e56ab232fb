"""Keys and headers: where a key comes from, api_key_cmd, and the check before any request.

A key or header value HTTP cannot carry (a pasted second line, a control or
non-ASCII character) is one ConfigError naming where it came from, never its
bytes; through the CLI it exits 2 and no request reaches the server.
"""

from __future__ import annotations

import time

import pytest

from llmcli import config as C
from llmcli import errors as E
from llmcli import keys as K
from llmcli.errors import ConfigError

from .conftest import assert_one_line_error

# -- where the key comes from ------------------------------------------------------


def test_api_key_env_list_and_resolution(config_file, monkeypatch):
    config_file('[profiles.groq]\napi_key_env = ["A_KEY", "B_KEY"]\n')
    profile = C.load().profile("groq")
    monkeypatch.setenv("B_KEY", "bee")
    assert K.resolve_api_key(profile) == "bee"
    monkeypatch.setenv("A_KEY", "ay")
    assert K.resolve_api_key(profile) == "ay"


def test_key_precedence_inline_then_cmd_then_env(config_file, monkeypatch, tmp_path):
    monkeypatch.setenv("GROQ_API_KEY", "from-env-1")
    assert K.resolve_api_key(C.load().profile("groq")) == "from-env-1"
    config_file('[profiles.groq]\napi_key_cmd = ["echo", "from-cmd-2"]\n')
    assert K.resolve_api_key(C.load().profile("groq")) == "from-cmd-2"
    config_file('[profiles.groq]\napi_key_cmd = ["echo", "from-cmd-2"]\napi_key = "  inline-3 "\n')
    assert K.resolve_api_key(C.load().profile("groq")) == "inline-3"


def test_missing_key_names_variable_and_profile():
    with pytest.raises(ConfigError) as info:
        K.resolve_api_key(C.load().profile("mistral"))
    assert "profile 'mistral'" in str(info.value) and "MISTRAL_API_KEY" in str(info.value)
    assert K.resolve_api_key(C.load().profile("lmstudio")) is None


def test_api_key_cmd_runs_without_shell(config_file, tmp_path):
    script = tmp_path / "key.sh"
    script.write_text("#!/bin/sh\necho \"sk-from-cmd $1\"\n")
    script.chmod(0o755)
    config_file(f'[profiles.groq]\napi_key_cmd = "{script} \'a b\'"\n')
    assert K.resolve_api_key(C.load().profile("groq")) == "sk-from-cmd a b"


@pytest.mark.parametrize(
    "cmd, needle",
    [
        ("false", "exited with status 1"),
        ("true", "printed nothing"),
        ("/no/such/tool", "command not found"),
        ("pass 'unbalanced", "cannot be split into words"),
    ],
)
def test_api_key_cmd_failures(config_file, cmd, needle):
    config_file(f'[profiles.groq]\napi_key_cmd = "{cmd}"\n')
    with pytest.raises(ConfigError) as info:
        K.resolve_api_key(C.load().profile("groq"))
    assert "profile 'groq': api_key_cmd" in str(info.value) and needle in str(info.value)


def test_api_key_cmd_timeout(config_file, monkeypatch):
    monkeypatch.setattr(K, "API_KEY_CMD_TIMEOUT", 0.3)
    config_file('[profiles.groq]\napi_key_cmd = ["sleep", "5"]\n')
    started = time.monotonic()
    with pytest.raises(ConfigError, match="no answer within 0.3 s"):
        K.resolve_api_key(C.load().profile("groq"))
    assert time.monotonic() - started < 4  # killed, not waited out


def test_api_key_cmd_with_a_background_child_holding_stdout(config_file):
    """`echo KEY; sleep 30 &`: the command exits at once, its child keeps the pipe open for 30 s."""
    config_file('[profiles.groq]\napi_key_cmd = ["sh", "-c", "echo sk-bg-key-4821; sleep 30 &"]\n')
    started = time.monotonic()
    assert K.resolve_api_key(C.load().profile("groq")) == "sk-bg-key-4821"
    assert time.monotonic() - started < 10  # was the full 15 s limit


def test_api_key_cmd_failure_with_a_background_child(config_file):
    config_file('[profiles.groq]\napi_key_cmd = ["sh", "-c", "echo locked >&2; sleep 30 & exit 3"]\n')
    started = time.monotonic()
    with pytest.raises(ConfigError, match="exited with status 3: locked"):
        K.resolve_api_key(C.load().profile("groq"))
    assert time.monotonic() - started < 10


def test_run_until_exit_reads_everything_the_command_wrote():
    code, out, err = K.run_until_exit(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo; echo e >&2"], 10)
    assert code == 0 and err == "e\n"
    assert len(out) == K._CMD_OUTPUT_CAP and set(out) == {"x"}  # read to the end, kept up to the cap


def test_key_status_never_reads_the_key(config_file, monkeypatch):
    config_file('[profiles.groq]\napi_key_cmd = "/no/such/tool"\n')
    assert C.load().profile("groq").key_status() == "command"  # not run
    monkeypatch.setenv("MISTRAL_API_KEY", "m")
    assert C.load().profile("mistral").key_status() == "set (MISTRAL_API_KEY)"


# -- what a key or header value may contain -----------------------------------------


@pytest.mark.parametrize(
    "value, needle",
    [
        ("sk-abc\ndef", "line break"),
        ("sk-abc\r\ndef", "line break"),
        ("sk-abc\u2028def", "line break"),
        ("sk-abc\tdef", "control character (character 7)"),
        ("sk-abc\x00def", "control character"),
        ("sk-ab\u00e9c", "non-ASCII character (character 6"),
        ("\u201csk-abc\u201d", "non-ASCII character (character 1"),
        ("sk-abc\u00a0", "non-ASCII"),
    ],
)
def test_value_problem_says_what_never_the_value(value, needle):
    problem = K.value_problem(value)
    assert problem is not None and needle in problem
    assert "sk-ab" not in problem


@pytest.mark.parametrize("value", ["sk-abc123", "Bearer tok en", "a=b; c=d", "~!@#$%^&*()"])
def test_value_problem_accepts_printable_ascii(value):
    assert K.value_problem(value) is None


def test_key_with_a_line_break_in_the_variable(config_file, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-first-line-7731\nsecond-line-7731")
    with pytest.raises(ConfigError) as info:
        K.resolve_api_key(C.load().profile("openai"))
    message = str(info.value)
    assert message == (
        "profile 'openai': the key in OPENAI_API_KEY has a line break (a second line pasted with it?); "
        "export it as one line, with nothing else"
    )
    # never sent, so not remembered: its lines would mask words of this very message
    assert "second" in message


def test_a_resolved_key_is_remembered_as_a_secret(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-remembered-6120")
    assert K.resolve_api_key(C.load().profile("openai")) == "sk-remembered-6120"
    assert E.scrub("Illegal header value b'Bearer sk-remembered-6120'") == f"Illegal header value b'Bearer {E.MASK}'"


def test_key_from_the_command_with_a_non_ascii_character(config_file):
    config_file('[profiles.groq]\napi_key_cmd = ["printf", "sk-caf\\u00e9-9921\\n"]\n')
    with pytest.raises(ConfigError) as info:
        K.resolve_api_key(C.load().profile("groq"))
    message = str(info.value)
    assert "profile 'groq': the key printed by api_key_cmd 'printf' has a non-ASCII character" in message
    assert "9921" not in message


def test_inline_key_with_a_line_break_is_a_config_problem(config_file):
    path = config_file('[profiles.groq]\napi_key = "sk-inline-5501\\nmore"\n')
    with pytest.raises(ConfigError) as info:
        C.load()
    message = str(info.value)
    assert message.startswith(f"{path}:2: profile 'groq': 'api_key' has a line break")
    assert "5501" not in message and "more" not in message


def test_header_with_a_line_break_is_a_config_problem(config_file):
    path = config_file('[profiles.groq]\nheaders = { "X-Auth" = "tok-8812\\nx" }\n')
    with pytest.raises(ConfigError) as info:
        C.load()
    message = str(info.value)
    assert message.startswith(f"{path}:2: profile 'groq': the value of header 'X-Auth' has a line break")
    assert "8812" not in message


def test_header_name_must_be_a_token(config_file):
    config_file('[profiles.groq]\nheaders = { "X Title" = "t" }\n')
    with pytest.raises(ConfigError, match="header name 'X Title' is not a valid header name"):
        C.load()


def test_check_headers_at_call_time_and_remembers_credentials():
    profile = C.Profile(
        name="p", provider="openai", headers={"X-Api-Key": "short-k9", "X-Title": "llmcli", "X-Trace": "0123456789abcdefXYZ"},
    )
    assert K.check_headers(profile) == profile.headers
    assert E.scrub("short-k9") == E.MASK  # a secret-looking name
    assert E.scrub("0123456789abcdefXYZ") == E.MASK  # a long token-like value
    assert E.scrub("llmcli") == "llmcli"  # a plain word is not masked everywhere
    bad = C.Profile(name="p", provider="openai", headers={"Authorization": "Bearer caf\u00e9-7710"})
    with pytest.raises(ConfigError) as info:
        K.check_headers(bad)
    assert str(info.value) == (
        "profile 'p': the value of header 'Authorization' has a non-ASCII character (character 11; "
        "a quote, dash or space copied from a web page?); fix headers in [profiles.p]"
    )
    with pytest.raises(ConfigError):
        K.resolve_api_key(C.Profile(name="p", provider="lmstudio", headers={"A": "b\nc"}))  # checked with the key


# -- through the CLI: exit 2, no request, the key's bytes nowhere ----------------------


def _keyed_profile(config_file, server, *, retries: int = 2) -> None:
    config_file(
        f'default_profile = "fake"\n[profiles.fake]\nprovider = "openai-compatible"\n'
        f'base_url = "{server.url}/v1"\napi_key_env = "FAKE_KEY"\nretries = {retries}\n'
    )


@pytest.mark.parametrize(
    "key, needle",
    [
        ("sk-leak-first-3141\nleak-second-3141", "has a line break (a second line pasted with it?)"),
        ("sk-leak-caf\u00e9-2718", "has a non-ASCII character"),
        ("sk-leak-\x1b[31m-1618", "has a control character"),
    ],
)
def test_cli_bad_key_exits_2_and_never_shows_it(cli, config_file, openai_server, key, needle):
    _keyed_profile(config_file, openai_server)
    result = cli("hello", env={"FAKE_KEY": key})
    assert result.code == 2
    assert_one_line_error(result.stderr, "profile 'fake': the key in FAKE_KEY", needle)
    for piece in [key, *key.split("\n"), "leak"]:
        assert piece.encode() not in result.stdout_bytes + result.stderr.encode()
    assert openai_server.requests == []


def test_cli_bad_key_in_batch_is_never_shown(cli, config_file, openai_server, tmp_path):
    _keyed_profile(config_file, openai_server, retries=0)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.md").write_text("Some text.\n")
    report = tmp_path / "report.json"
    key = "sk-batch-leak-5772\nsecond-5772"
    result = cli(
        "batch", str(tmp_path / "in" / "a.md"), "-s", "fix", "--out", str(tmp_path / "out"), "--report", str(report),
        env={"FAKE_KEY": key},
    )
    assert result.code != 0
    shown = result.stdout + result.stderr + (report.read_text() if report.exists() else "")
    assert "5772" not in shown
    assert "FAKE_KEY" in shown and "line break" in shown
    assert openai_server.requests == []


def test_cli_bad_header_in_the_file_exits_2(cli, config_file, openai_server):
    config_file(
        f'default_profile = "fake"\n[profiles.fake]\nprovider = "openai-compatible"\n'
        f'base_url = "{openai_server.url}/v1"\nheaders = {{ Authorization = "Bearer hdr-leak-6644\\r\\nX: y" }}\n'
    )
    result = cli("hello")
    assert result.code == 2
    assert_one_line_error(result.stderr, ":5: profile 'fake': the value of header 'Authorization' has a line break")
    assert "6644" not in result.stdout + result.stderr
    assert openai_server.requests == []


def test_cli_good_key_is_sent(cli, config_file, openai_server):
    _keyed_profile(config_file, openai_server)
    result = cli("hello", env={"FAKE_KEY": "  sk-good-1234  "})
    assert result.code == 0, result.stderr
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-good-1234"
