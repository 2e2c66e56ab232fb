"""Config: location, built-ins, merging, precedence, validation messages, keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmcli import config as C
from llmcli.errors import ConfigError
from llmcli.providers import BUILTIN_PROFILES

from .conftest import assert_one_line_error


def test_path_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCLI_CONFIG", str(tmp_path / "env.toml"))
    assert C.config_path(tmp_path / "flag.toml") == tmp_path / "flag.toml"
    assert C.config_path() == tmp_path / "env.toml"
    monkeypatch.delenv("LLMCLI_CONFIG")
    # platformdirs' user config dir, under our isolated XDG_CONFIG_HOME
    assert C.config_path() == Path(os.environ["XDG_CONFIG_HOME"]) / "llmcli" / "config.toml"


def test_missing_default_file_gives_nine_builtins():
    config = C.load()
    assert not config.exists
    assert set(BUILTIN_PROFILES) == {
        "openai", "lmstudio", "groq", "openrouter", "deepseek", "anthropic", "gemini", "mistral", "qwen",
    }
    for name in BUILTIN_PROFILES:
        profile = config.profile(name)
        assert profile.base_url and profile.base_url.startswith(("http://", "https://"))
        if name != "lmstudio":
            assert profile.model and profile.api_key_env
    assert config.profile("groq").base_url == "https://api.groq.com/openai/v1"
    assert config.profile("gemini").api_key_env == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert config.profile("qwen").provider == "dashscope"
    assert config.profile("openrouter").headers["X-Title"] == "llmcli"
    assert "HTTP-Referer" in config.profile("openrouter").headers


def test_named_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMCLI_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="nope.toml: config file not found"):
        C.load()


def test_user_profile_refines_builtin_key_by_key(config_file):
    config_file('[profiles.groq]\nmodel = "llama-3.1-8b-instant"\n')
    groq = C.load().profile("groq")
    assert groq.model == "llama-3.1-8b-instant"
    assert groq.base_url == "https://api.groq.com/openai/v1"
    assert groq.api_key_env == ("GROQ_API_KEY",)
    assert groq.provider == "groq"


def test_new_profiles_share_a_kind(config_file):
    config_file(
        """
[profiles.box1]
provider = "lmstudio"
base_url = "http://10.0.0.5:1234/v1"

[profiles.box2]
provider = "lmstudio"
base_url = "http://10.0.0.6:1234/v1"
headers = { "X-Team" = "a" }

[profiles.vllm]
provider = "openai-compatible"
base_url = "http://gpu:8000/v1"
model = "qwen2.5"
"""
    )
    config = C.load()
    assert config.profile("box1").base_url != config.profile("box2").base_url
    assert config.profile("box2").headers == {"X-Team": "a"}
    assert config.profile("vllm").provider == "openai-compatible"
    assert not config.profile("vllm").needs_key


def test_headers_merge_with_builtin(config_file):
    config_file('[profiles.openrouter]\nheaders = { "X-Title" = "mine" }\n')
    headers = C.load().profile("openrouter").headers
    assert headers["X-Title"] == "mine" and "HTTP-Referer" in headers


def test_default_profile_precedence(config_file, monkeypatch):
    config_file('default_profile = "mistral"\n')
    config = C.load()
    assert config.select().name == "mistral"
    monkeypatch.setenv("LLMCLI_PROFILE", "anthropic")
    assert config.select().name == "anthropic"
    assert config.select("gemini").name == "gemini"


def test_default_profile_autodetect(monkeypatch):
    config = C.load()
    assert config.select().name == "lmstudio"
    monkeypatch.setenv("GOOGLE_API_KEY", "x")
    assert config.select().name == "gemini"
    monkeypatch.setenv("GROQ_API_KEY", "x")
    assert config.select().name == "groq"  # groq comes before gemini in the detection order


def test_unknown_profile_lists_known():
    with pytest.raises(ConfigError) as info:
        C.load().select("gorq")
    message = str(info.value)
    assert "unknown profile 'gorq'" in message and "did you mean 'groq'" in message
    assert "lmstudio" in message and "qwen" in message


@pytest.mark.parametrize(
    "text, needles",
    [
        ('[profiles.groq]\nmodle = "x"\n', [":2:", "profile 'groq'", "unknown key 'modle'", "did you mean 'model'"]),
        ('[profiles.groq]\ntemperature = "hot"\n', [":2:", "'temperature' must be a number, not a string"]),
        ('[profiles.groq]\nmax_tokens = 1.5\n', [":2:", "'max_tokens' must be an integer, not a float"]),
        ('[profiles.x]\nprovider = "opena"\n', [":2:", "unknown provider 'opena'", "did you mean 'openai'", "known providers"]),
        ('[profiles.x]\nmodel = "m"\n', [":1:", "profile 'x'", "'provider' is required"]),
        ('[profiles.x]\nprovider = "openai-compatible"\n', ["profile 'x'", "needs a 'base_url'"]),
        ('default_profile = "nope"\n', [":1:", "default_profile 'nope' is not a profile"]),
        ('defualt_profile = "groq"\n', [":1:", "unknown top-level key", "did you mean 'default_profile'"]),
        ('[profiles.groq]\ntemperature = 3\n', ["between 0 and 2"]),
        ('[profiles.groq]\nbase_url = "api.groq.com"\n', ["must start with http"]),
        ('[profiles.groq]\nheaders = { "X" = 1 }\n', ["'headers' values must be strings"]),
        ('\n\n[profiles.groq]\nretries = true\n', [":4:", "'retries' must be an integer, not a boolean"]),
    ],
)
def test_validation_messages(config_file, text, needles):
    path = config_file(text)
    with pytest.raises(ConfigError) as info:
        C.load()
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, (needle, message)


def test_malformed_toml_has_line_and_column(config_file):
    path = config_file('[profiles.groq]\nmodel = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        C.load()
    assert str(info.value).startswith(f"{path}:2:")
    assert "invalid TOML" in str(info.value)


def test_several_problems_are_counted(config_file):
    config_file('[profiles.a]\nmodle = 1\n[profiles.b]\nfoo = 2\n')
    with pytest.raises(ConfigError, match=r"\+3 more: run 'llmcli config validate'"):
        C.load()
    assert len(C.load(strict=False).problems) == 4


def test_api_key_env_list_and_resolution(config_file, monkeypatch):
    config_file('[profiles.groq]\napi_key_env = ["A_KEY", "B_KEY"]\n')
    profile = C.load().profile("groq")
    monkeypatch.setenv("B_KEY", "bee")
    assert C.resolve_api_key(profile) == "bee"
    monkeypatch.setenv("A_KEY", "ay")
    assert C.resolve_api_key(profile) == "ay"


def test_missing_key_names_variable_and_profile():
    with pytest.raises(ConfigError) as info:
        C.resolve_api_key(C.load().profile("mistral"))
    assert "profile 'mistral'" in str(info.value) and "MISTRAL_API_KEY" in str(info.value)
    assert C.resolve_api_key(C.load().profile("lmstudio")) is None


def test_api_key_cmd_runs_without_shell(config_file, tmp_path):
    script = tmp_path / "key.sh"
    script.write_text("#!/bin/sh\necho \"sk-from-cmd $1\"\n")
    script.chmod(0o755)
    config_file(f'[profiles.groq]\napi_key_cmd = "{script} \'a b\'"\n')
    assert C.resolve_api_key(C.load().profile("groq")) == "sk-from-cmd a b"


@pytest.mark.parametrize(
    "cmd, needle",
    [
        ("false", "exited with status 1"),
        ("true", "printed nothing"),
        ("/no/such/tool", "command not found"),
    ],
)
def test_api_key_cmd_failures(config_file, cmd, needle):
    config_file(f'[profiles.groq]\napi_key_cmd = "{cmd}"\n')
    with pytest.raises(ConfigError) as info:
        C.resolve_api_key(C.load().profile("groq"))
    assert "profile 'groq': api_key_cmd" in str(info.value) and needle in str(info.value)


def test_api_key_cmd_timeout(config_file, monkeypatch):
    monkeypatch.setattr(C, "API_KEY_CMD_TIMEOUT", 0.3)
    config_file('[profiles.groq]\napi_key_cmd = ["sleep", "5"]\n')
    with pytest.raises(ConfigError, match="no answer within 0.3 s"):
        C.resolve_api_key(C.load().profile("groq"))


def test_inline_key_in_readable_file_warns(config_file, capsys):
    config_file('[profiles.groq]\napi_key = "sk-secret-123"\n', mode=0o644)
    C.load()
    err = capsys.readouterr().err
    assert "readable by others" in err and "chmod 600" in err
    assert "sk-secret-123" not in err


def test_inline_key_in_private_file_is_quiet(config_file, capsys):
    config_file('[profiles.groq]\napi_key = "sk-secret-123"\n', mode=0o600)
    assert C.resolve_api_key(C.load().profile("groq")) == "sk-secret-123"
    assert capsys.readouterr().err == ""


def test_masked_dict_hides_secrets(config_file):
    config_file(
        '[profiles.groq]\napi_key = "sk-secret-123"\nheaders = { Authorization = "Bearer tok-999", "X-Title" = "t" }\n'
    )
    shown = C.masked_dict(C.load())
    groq = shown["profiles"]["groq"]
    assert groq["api_key"] == C.MASK
    assert groq["headers"]["Authorization"] == C.MASK
    assert groq["headers"]["X-Title"] == "t"
    assert "sk-secret-123" not in repr(shown) and "tok-999" not in repr(shown)


def test_profile_repr_never_shows_key(config_file):
    config_file('[profiles.groq]\napi_key = "sk-secret-123"\n')
    assert "sk-secret-123" not in repr(C.load().profile("groq"))


def test_starter_toml_is_valid_and_loads(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text(C.starter_toml("groq"))
    config = C.load(path)
    assert config.default_profile == "groq"
    assert config.profile("groq").temperature == 0.3


def test_example_config_is_valid(monkeypatch):
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    config = C.load(example)
    kinds = {p.provider for p in config.profiles.values() if not p.builtin}
    assert {"openai", "lmstudio", "groq", "openrouter", "deepseek", "anthropic", "gemini", "mistral", "dashscope"} <= kinds
    text = example.read_text()
    for key in C.PROFILE_KEYS:
        assert f"{key} =" in text or f"# {key}" in text, key
    assert "HTTP-Referer" in text and "X-Title" in text


# -- the config commands, through the CLI ------------------------------------------


def test_cli_config_path(cli, tmp_path):
    result = cli("--config", str(tmp_path / "x.toml"), "config", "path")
    assert result.code == 0
    assert result.stdout.strip() == str(tmp_path / "x.toml")


def test_cli_config_init_refuses_overwrite(cli, tmp_path):
    target = tmp_path / "sub" / "config.toml"
    first = cli("config", "init", "--config", str(target), "-p", "groq")
    assert first.code == 0, first.stderr
    assert target.exists() and (target.stat().st_mode & 0o777) == 0o600
    assert 'default_profile = "groq"' in target.read_text()
    target.write_text("# mine\n")
    again = cli("config", "init", "--config", str(target))
    assert again.code == 2
    assert_one_line_error(again.stderr, "already exists", "--force")
    assert target.read_text() == "# mine\n"
    forced = cli("--config", str(target), "config", "init", "--force")
    assert forced.code == 0 and "default_profile" in target.read_text()


def test_cli_config_show_masks(cli, config_file):
    config_file('[profiles.groq]\napi_key = "sk-secret-123"\n')
    result = cli("config", "show")
    assert result.code == 0
    assert "sk-secret-123" not in result.stdout + result.stderr
    assert C.MASK in result.stdout
    assert "[profiles.groq]" in result.stdout


def test_cli_config_validate(cli, config_file):
    config_file('[profiles.groq]\nmodel = "x"\n')
    ok = cli("config", "validate")
    assert ok.code == 0 and "ok" in ok.stdout
    config_file('[profiles.a]\nmodle = 1\n[profiles.b]\nprovider = "nope"\n')
    bad = cli("config", "validate")
    assert bad.code == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 3  # a: unknown key, a: no provider, b: unknown provider
    assert all(line.startswith("llmcli: error: ") for line in lines)


def test_cli_bad_config_is_one_line(cli, config_file):
    config_file('[profiles.groq\nmodel = "x"\n')
    result = cli("hello")
    assert result.code == 2
    assert_one_line_error(result.stderr, "invalid TOML", ":1:")


def test_cli_profiles_table_never_shows_key(cli, config_file, monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk-secret-777")
    config_file('[profiles.mine]\nprovider = "openai"\napi_key = "sk-inline-555"\n')
    result = cli("profiles")
    assert result.code == 0
    assert "gsk-secret-777" not in result.stdout and "sk-inline-555" not in result.stdout
    rows = {line.split()[0] if not line.startswith("*") else line.split()[1]: line for line in result.stdout.splitlines()[1:]}
    assert "set (GROQ_API_KEY)" in rows["groq"]
    assert "missing (MISTRAL_API_KEY)" in rows["mistral"]
    assert "set (inline)" in rows["mine"]
    assert "not needed" in rows["lmstudio"]
    assert rows["groq"].startswith("*")  # the auto-detected default
    header = result.stdout.splitlines()[0].split()
    assert header == ["NAME", "PROVIDER", "MODEL", "BASE", "URL", "KEY"]


def test_line_numbers_for_quoted_profile_names(config_file):
    path = config_file('# box\n\n[profiles."my.box"]\nprovider = "lmstudio"\nbase_url = "http://h:1/v1"\ntemprature = 1\n')
    with pytest.raises(ConfigError) as info:
        C.load()
    assert str(info.value).startswith(f"{path}:6: profile 'my.box': unknown key 'temprature'")
    assert "did you mean 'temperature'" in str(info.value)


def test_profile_that_is_not_a_table(config_file):
    path = config_file('[profiles]\ngroq = "fast"\n')
    with pytest.raises(ConfigError) as info:
        C.load()
    assert str(info.value).startswith(f"{path}:2: profile 'groq' must be a table")


def test_unknown_profile_from_the_environment_says_so(monkeypatch):
    monkeypatch.setenv("LLMCLI_PROFILE", "grok")
    with pytest.raises(ConfigError, match=r"unknown profile 'grok' \(from \$LLMCLI_PROFILE\) \(did you mean 'groq'\?\)"):
        C.load().select()
