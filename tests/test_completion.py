"""Shell completion: the scripts for bash, zsh and fish, and requests answered with the config's names."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import ROOT, assert_one_line_error

CONFIG = """
default_profile = "box"

[profiles.box]
provider = "lmstudio"
base_url = "http://192.168.1.20:1234/v1"

[profiles.work-gpt]
provider = "openai"
model = "gpt-4.1"

[templates.release-notes]
description = "release notes for a given audience"
prompt = "Rewrite the text as release notes for {audience}."
"""


@pytest.fixture
def user_config(config_file):
    return config_file(CONFIG)


def bash_request(cli, line: str):
    """What bash asks when Tab is pressed at the end of ``line`` (COMP_WORDS / COMP_CWORD)."""
    words = line.split(" ")
    return cli(env={"_LLMCLI_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)})


@pytest.mark.parametrize(
    "shell, needles",
    [
        ("bash", ["complete -o default -F _llmcli_completion llmcli", "_LLMCLI_COMPLETE=complete_bash"]),
        ("zsh", ["#compdef llmcli", "_LLMCLI_COMPLETE=complete_zsh", "compdef _llmcli_completion llmcli"]),
        ("fish", ["complete --command llmcli", "_LLMCLI_COMPLETE=complete_fish"]),
    ],
)
def test_a_script_for_each_shell(cli, shell, needles):
    result = cli("completion", shell)
    assert result.code == 0 and result.stderr == ""
    for needle in needles:
        assert needle in result.stdout


def test_an_unknown_shell_is_one_line(cli):
    result = cli("completion", "tcsh")
    assert result.code == 2 and result.stdout == ""
    assert_one_line_error(result.stderr, "unknown shell 'tcsh'", "bash, zsh, fish")


def test_profiles_come_from_the_config(cli, user_config):
    result = bash_request(cli, "llmcli -p ")
    assert result.code == 0
    names = result.stdout.split()
    assert {"box", "work-gpt", "groq", "lmstudio"} <= set(names)
    assert bash_request(cli, "llmcli -p w").stdout.split() == ["work-gpt"]
    assert bash_request(cli, "llmcli batch docs -p bo").stdout.split() == ["box"]
    assert bash_request(cli, "llmcli models -p bo").stdout.split() == ["box"]


def test_styles_and_templates_come_from_the_config(cli, user_config):
    names = bash_request(cli, "llmcli -s ").stdout.split()
    assert {"formal", "fix", "translate", "release-notes"} <= set(names)
    assert bash_request(cli, "llmcli -s rel").stdout.split() == ["release-notes"]
    assert bash_request(cli, "llmcli batch docs/ -s rel").stdout.split() == ["release-notes"]
    assert bash_request(cli, "llmcli styles show rel").stdout.split() == ["release-notes"]


def test_the_config_option_on_the_line_is_the_one_read(cli, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('[profiles.elsewhere]\nprovider = "groq"\n')
    assert bash_request(cli, f"llmcli --config {other} -p els").stdout.split() == ["elsewhere"]


def test_commands_and_options(cli, user_config):
    commands = bash_request(cli, "llmcli ").stdout.split()
    assert {"batch", "profiles", "models", "config", "styles", "completion"} <= set(commands)
    assert "run" not in commands  # the hidden default command
    assert bash_request(cli, "llmcli pro").stdout.split() == ["profiles"]
    options = bash_request(cli, "llmcli --").stdout.split()
    assert {"--profile", "--style", "--json", "--diff", "--config", "--debug", "--help"} <= set(options)
    assert "--in-place" in bash_request(cli, "llmcli batch --in").stdout.split()
    assert bash_request(cli, "llmcli completion z").stdout.split() == ["zsh"]


def test_zsh_and_fish_get_descriptions(cli, user_config):
    zsh = cli(env={"_LLMCLI_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "llmcli -p wo"})
    assert zsh.code == 0 and '"work-gpt":"openai · gpt-4.1"' in zsh.stdout
    fish = cli(env={"_LLMCLI_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "llmcli -s rel",
                    "_TYPER_COMPLETE_FISH_ACTION": "get-args"})
    assert fish.code == 0 and fish.stdout.strip() == "release-notes\trelease notes for a given audience"


def test_a_broken_config_completes_built_ins_quietly(cli, config_file):
    config_file("[profiles.x\nprovider = ")
    profiles = bash_request(cli, "llmcli -p ")
    assert profiles.code == 0 and profiles.stderr == ""
    assert {"groq", "lmstudio", "openai"} <= set(profiles.stdout.split()) and "x" not in profiles.stdout.split()
    styles = bash_request(cli, "llmcli -s for")
    assert styles.stdout.split() == ["formal"] and styles.stderr == ""


def test_a_completion_request_sends_nothing(cli, fake_profile):
    result = bash_request(cli, "llmcli profile ")
    assert result.code == 0 and "Traceback" not in result.stderr
    assert fake_profile.requests == []


def test_install_writes_where_the_shell_looks(cli, isolated_env):
    result = cli("completion", "fish", "--install")
    assert result.code == 0 and result.stdout == ""
    script = isolated_env / ".config/fish/completions/llmcli.fish"
    assert "_LLMCLI_COMPLETE=complete_fish" in script.read_text()
    assert "fish completion installed in" in result.stderr
    assert cli("completion", "bash", "--install").code == 0
    assert "source '" in (isolated_env / ".bashrc").read_text()
    assert "_LLMCLI_COMPLETE=complete_bash" in (isolated_env / ".bash_completions/llmcli.sh").read_text()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash on this machine")
def test_a_real_bash_completes_a_template_name(user_config, tmp_path):
    """The script as bash sources it, calling the real program: the whole protocol end to end."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "llmcli"
    wrapper.write_text(f'#!/bin/sh\nexec "{os.sys.executable}" -m llmcli "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c",
         'source <(llmcli completion bash); COMP_WORDS=(llmcli -s rel); COMP_CWORD=2; '
         '_llmcli_completion llmcli; echo "${COMPREPLY[@]}"'],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "release-notes"
