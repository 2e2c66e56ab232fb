"""cli.main's own duties: one line for every error, secrets masked even in a bug's message, and hints."""

from __future__ import annotations

import pytest

from llmcli import errors as E
from tests.conftest import assert_one_line_error


def test_options_before_a_command_word_suggest_the_double_dash(cli):
    # `config` is a command: "-p P config is hard" runs it with -p, which it has not.
    result = cli("-p", "P", "config", "is", "hard")
    assert result.code == 2
    assert_one_line_error(result.stderr, "No such option: -p",
                          "end the options with --: llmcli -p P -- config is hard")


def test_the_suggested_double_dash_sends_the_words_as_text(cli, fake_profile):
    result = cli("-p", "fake", "--", "config", "is", "hard")
    assert result.code == 0, result.stderr
    assert "config is hard" in fake_profile.last.json["messages"][-1]["content"]


def test_a_hint_quotes_words_for_the_shell(cli):
    result = cli("-m", "x y", "models", "it's")
    assert result.code == 2
    assert_one_line_error(result.stderr, "No such option: -m", "llmcli -m 'x y' -- models 'it'\"'\"'s'")


def test_no_such_option_elsewhere_keeps_the_plain_help_pointer(cli):
    result = cli("profiles", "--bogus")
    assert result.code == 2
    assert_one_line_error(result.stderr, "No such option: --bogus", "(see 'llmcli --help')")


@pytest.fixture
def failing_command(monkeypatch):
    """`llmcli profiles` raising a bug whose message quotes a remembered secret."""
    secret = "sk-internal-bug-secret-9911"
    E.remember_secret(secret)

    def boom(_config):
        raise RuntimeError(f"Illegal header value b'Bearer {secret}'\nsecond line")

    monkeypatch.setattr("llmcli.commands.list_profiles", boom)
    return secret


def test_internal_error_line_is_scrubbed_and_one_line(cli, failing_command):
    result = cli("profiles")
    assert result.code == E.EXIT_INTERNAL
    assert_one_line_error(result.stderr, "internal error: RuntimeError", E.MASK)
    assert failing_command not in result.stderr


def test_debug_traceback_is_scrubbed_too(cli, failing_command):
    result = cli("--debug", "profiles")
    assert result.code == E.EXIT_INTERNAL
    assert "Traceback" in result.stderr and "RuntimeError" in result.stderr
    assert failing_command not in result.stderr
