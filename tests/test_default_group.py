"""The root group's typo guard: a lone word that is almost a command is refused, never sent to the model."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llmcli.typos import closest, distance, near

from .conftest import ROOT, assert_one_line_error, run_llmcli


def user_content(request) -> str:
    return [m for m in request.json["messages"] if m["role"] == "user"][0]["content"]


@pytest.mark.parametrize(
    "word, meant",
    [
        ("profile", "profiles"),
        ("style", "styles"),
        ("model", "models"),
        ("histroy", "history"),  # not registered on every branch: the upcoming list covers it
        ("bach", "batch"),
        ("Profiles", "profiles"),
        ("job", "jobs"),
        ("completions", "completion"),
        ("confg", "config"),
    ],
)
def test_a_mistyped_command_is_refused_and_nothing_is_sent(cli, fake_profile, word, meant):
    result = cli(word)
    assert result.code == 2
    assert result.stdout == ""
    assert_one_line_error(
        result.stderr,
        f"unknown command '{word}' (did you mean '{meant}'?)",
        f"to send it as an instruction: llmcli -- {word}",
    )
    assert fake_profile.requests == []


def test_options_before_the_word_do_not_hide_the_typo(cli, fake_profile):
    result = cli("-p", "fake", "model")
    assert result.code == 2 and "did you mean 'models'?" in result.stderr
    result = cli("model", "--json")
    assert result.code == 2 and "did you mean 'models'?" in result.stderr
    assert fake_profile.requests == []


def test_double_dash_always_sends_it(cli, fake_profile):
    result = cli("--", "profile")
    assert result.code == 0 and result.stdout == "Hello from fake server!\n"
    assert user_content(fake_profile.last) == "profile"
    assert cli("-p", "fake", "--", "histroy").code == 0
    assert user_content(fake_profile.last) == "histroy"


@pytest.mark.parametrize("word", ["Summarize", "hello", "fast", "list", "translate", "explain"])
def test_a_real_one_word_instruction_goes_through(cli, fake_profile, word):
    result = cli(word)
    assert result.code == 0, result.stderr
    assert user_content(fake_profile.last) == word


def test_with_text_the_word_is_an_instruction(cli, fake_profile, tmp_path):
    """Text from stdin or -f: the word instructs what to do with it (as 'Rewrite' would)."""
    assert cli("style", input="some text").code == 0
    assert user_content(fake_profile.last).startswith("style\n\n<text>\nsome text")
    notes = tmp_path / "notes.txt"
    notes.write_text("alpha\n")
    assert cli("-f", str(notes), "model").code == 0
    assert cli(f"--file={notes}", "model").code == 0
    assert cli(f"-f{notes}", "model").code == 0
    assert len(fake_profile.requests) == 4


def test_with_a_style_the_word_is_the_text(cli, fake_profile):
    assert cli("-s", "fix", "modle").code == 0
    assert "modle" in user_content(fake_profile.last)


def test_several_words_go_through(cli, fake_profile):
    assert cli("profile", "of", "a", "customer").code == 0
    assert cli("profile of a customer").code == 0
    assert len(fake_profile.requests) == 2


def test_a_real_command_still_runs(cli, fake_profile):
    result = cli("profiles")
    assert result.code == 0 and "fake" in result.stdout


def test_stdin_from_dev_null_is_no_text():
    """cron/CI: `llmcli profile < /dev/null` would send the word alone; the guard still holds."""
    done = run_llmcli("profile", env={"LLMCLI_CONFIG": "/nonexistent/config.toml"})  # stdin is /dev/null
    assert done.returncode == 2, done.stderr
    assert b"did you mean 'profiles'?" in done.stderr and b"Traceback" not in done.stderr
    assert done.stdout == b""


def test_edit_distance():
    assert distance("histroy", "history") == 1  # a swap of neighbours is one edit
    assert distance("profile", "profiles") == 1
    assert distance("", "abc") == 3 and distance("abc", "abc") == 0
    assert distance("kitten", "sitting") == 3


def test_short_names_take_no_changed_letter():
    assert not near("fast", "last") and not near("list", "last") and not near("lost", "last")
    assert near("lsat", "last") and near("las", "last") and near("lasts", "last")
    assert closest("smiles", ["styles"]) is None  # two edits from a six-letter name
    assert closest("proflie", ["profiles", "models"]) == "profiles"  # two edits from an eight-letter name
    assert closest("hello", ["batch", "profiles", "models", "styles", "config"]) is None


def test_subprocess_sees_no_traceback_and_no_request():
    """The guard in a real process (the console path): exit 2 before any SDK is loaded."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, llmcli.cli as c; code = c.main(['style']); "
         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'anthropic', 'httpx'))); "
         "sys.exit(code)"],
        capture_output=True, stdin=subprocess.DEVNULL, cwd=str(ROOT),
    )
    assert done.returncode == 2
    assert done.stdout.strip() == b"[]"
