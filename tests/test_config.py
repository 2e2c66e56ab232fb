"""Config: location, built-ins, merging, precedence, validation messages, keys."""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from llmcli import config as C
from llmcli.errors import ConfigError
from llmcli.providers import BUILTIN_PROFILES, KINDS

from .conftest import assert_one_line_error

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


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


def test_inline_key_in_readable_file_warns(config_file, capsys):
    config_file('[profiles.groq]\napi_key = "sk-secret-123"\n', mode=0o644)
    C.load()
    err = capsys.readouterr().err
    assert "readable by others" in err and "chmod 600" in err
    assert "sk-secret-123" not in err


def test_inline_key_in_private_file_is_quiet(config_file, capsys):
    config_file('[profiles.groq]\napi_key = "sk-secret-123"\n', mode=0o600)
    assert C.resolve_api_key(C.load().profile("groq")) == "sk-secret-123"  # the re-export still works
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


ROOT = Path(__file__).resolve().parent.parent


def _documented_keys(text: str) -> dict[str, set[str]]:
    """The keys config.example.toml's comment blocks document: `# key   meaning` lines, per block."""
    blocks: dict[str, set[str]] = {"profiles": set(), "templates": set()}
    block = None
    for line in text.splitlines():
        if "Every key a profile accepts" in line:
            block = "profiles"
        elif line.startswith("# Templates:"):
            block = "templates"
        m = re.match(r"^# ([a-z_][a-z_, ]*[a-z_])\s{2,}\S", line)
        if block and m:
            blocks[block].update(k.strip() for k in m.group(1).split(","))
    return blocks


def _used_keys(data: dict) -> dict[str, set[str]]:
    return {
        "top": set(data),
        "profiles": {k for table in data.get("profiles", {}).values() for k in table},
        "templates": {k for table in data.get("templates", {}).values() for k in table},
    }


def _check_example(text: str, path: Path) -> None:
    """Valid, a profile per provider kind, every key of the tables documented, no key the tables lack."""
    config = C.loads(text, path)
    assert config.problems == []
    kinds = {p.provider for p in config.profiles.values() if not p.builtin}
    assert set(KINDS) <= kinds | {"lmstudio"}  # every kind has a profile in the file
    assert {"openai", "lmstudio", "groq", "openrouter", "deepseek", "anthropic", "gemini", "mistral", "dashscope"} <= kinds
    documented = _documented_keys(text)
    assert documented["profiles"] == set(C.PROFILE_KEYS)
    assert documented["templates"] == set(C.TEMPLATE_KEYS)
    used = _used_keys(tomllib.loads(text))
    assert used["top"] == set(C.TOP_LEVEL_KEYS)  # every top-level key, used
    assert used["profiles"] <= set(C.PROFILE_KEYS) and used["templates"] <= set(C.TEMPLATE_KEYS)
    assert "HTTP-Referer" in text and "X-Title" in text


def test_example_config_is_valid_and_documents_every_key():
    example = ROOT / "config.example.toml"
    _check_example(example.read_text(encoding="utf-8"), example)


def test_example_config_shipped_in_the_package_is_the_repo_copy():
    shipped = ROOT / "llmcli" / C.EXAMPLE_NAME
    assert C.example_text() == shipped.read_text(encoding="utf-8")
    assert (ROOT / "config.example.toml").read_bytes() == shipped.read_bytes(), (
        "the top-level config.example.toml is a copy of llmcli/config.example.toml: cp llmcli/config.example.toml ."
    )


def test_documented_key_blocks_are_what_the_test_reads():
    """The reader of the comment blocks finds something to fail on."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    blocks = _documented_keys(text)
    assert {"provider", "think_tags", "batch", "max_wait"} <= blocks["profiles"]
    assert {"profile", "model", "temperature"} <= blocks["templates"]
    broken = text.replace("# think_tags ", "# think-tags ")
    assert "think_tags" not in _documented_keys(broken)["profiles"]


# -- the field table is the one list of keys --------------------------------------------


def test_profile_dataclass_matches_the_field_table():
    attributes = {f.name: f for f in fields(C.Profile)}
    assert set(attributes) == set(C.PROFILE_KEYS) | {"name", "builtin"}
    for f in C.PROFILE_FIELDS:
        if f.name == "provider":
            continue
        attribute = attributes[f.name]
        default = attribute.default_factory() if attribute.default_factory is not MISSING else attribute.default
        assert default == f.default, f.name


def test_template_dataclass_matches_the_field_table():
    attributes = {f.name: f for f in fields(C.Template)}
    assert set(attributes) == set(C.TEMPLATE_KEYS) | {"name", "source"}


def test_readme_top_level_table_is_generated_from_the_field_table():
    """README carries the top-level keys' table as the field table writes it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert C.key_table(C.TOP_FIELDS).strip() in readme


def _readme_key_rows() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("| key | type | meaning |")
    rows: dict[str, list[str]] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        rows[cells[0].strip("`")] = cells
    return rows


def test_readme_key_table_agrees_with_the_field_table():
    """README's key table is the one generated from the field table: every key, its type and meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert C.key_table().strip() in text
    by_name = {f.name: f for f in C.PROFILE_FIELDS}
    rows = _readme_key_rows()
    assert set(rows) == set(by_name)
    for name, cells in rows.items():
        assert cells[1] == by_name[name].doc_type, name


@pytest.mark.parametrize(
    "text, attribute, value",
    [
        ('reasoning = "high"', "reasoning", "high"),
        ('reasoning = "off"', "reasoning", "off"),
        ("show_reasoning = true", "show_reasoning", True),
        ('think_tags = "open"', "think_tags", "open"),
        ("cache = true", "cache", True),
        ("batch = true", "batch", True),
        ("max_wait = 5", "max_wait", 5.0),
        ("max_wait = 0", "max_wait", 0.0),
    ],
)
def test_new_profile_keys_parse(config_file, text, attribute, value):
    config_file(f'[profiles.box]\nprovider = "openai-compatible"\nbase_url = "http://h:1/v1"\n{text}\n')
    profile = C.load().profile("box")
    assert getattr(profile, attribute) == value
    assert type(getattr(profile, attribute)) is type(value)


def test_new_profile_keys_defaults():
    groq = C.load().profile("groq")
    assert (groq.reasoning, groq.show_reasoning, groq.think_tags, groq.cache, groq.batch, groq.max_wait) == (
        None, False, "auto", False, None, 60.0,
    )


@pytest.mark.parametrize(
    "text, needle",
    [
        ('reasoning = "extreme"', "'reasoning' must be one of off, low, medium, high, max, not 'extreme'"),
        ("reasoning = 1", "'reasoning' must be a string, not an integer"),
        ('show_reasoning = "yes"', "'show_reasoning' must be true or false, not a string"),
        ("show_reasoning = 1", "'show_reasoning' must be true or false, not an integer"),
        ('think_tags = "closed"', "'think_tags' must be one of auto, open, not 'closed'"),
        ("cache = 0", "'cache' must be true or false, not an integer"),
        ('batch = "true"', "'batch' must be true or false, not a string"),
        ("max_wait = -1", "'max_wait' must be 0 or more seconds, not -1"),
        ("max_wait = true", "'max_wait' must be a number of seconds, not a boolean"),
    ],
)
def test_new_profile_keys_validation(config_file, text, needle):
    path = config_file(f"[profiles.groq]\n{text}\n")
    with pytest.raises(ConfigError) as info:
        C.load()
    assert str(info.value) == f"{path}:2: profile 'groq': {needle}"


def test_log_top_level_key(config_file):
    assert C.load().log is True
    config_file("log = false\n")
    assert C.load().log is False
    path = config_file('\nlog = "no"\n')
    with pytest.raises(ConfigError) as info:
        C.load()
    assert str(info.value) == f"{path}:2: 'log' must be true or false, not a string"


def test_unknown_top_level_key_suggests_a_table_name(config_file):
    config_file('[profile.x]\nprovider = "groq"\n')
    with pytest.raises(ConfigError, match=r":1: unknown top-level key 'profile' \(did you mean 'profiles'\?\)"):
        C.load()


def test_masked_dict_shows_every_set_key(config_file):
    config_file(
        '[profiles.box]\nprovider = "openai-compatible"\nbase_url = "http://h:1/v1"\nreasoning = "low"\n'
        'think_tags = "open"\nbatch = true\nfallback = ["groq"]\napi_key_env = "A"\napi_key_cmd = "pass x"\n'
    )
    shown = C.masked_dict(C.load())
    box = shown["profiles"]["box"]
    assert box["reasoning"] == "low" and box["think_tags"] == "open" and box["batch"] is True
    assert box["show_reasoning"] is False and box["cache"] is False and box["max_wait"] == 60.0
    assert box["fallback"] == ["groq"] and box["api_key_env"] == "A" and box["api_key_cmd"] == "pass x"
    assert shown["log"] is True
    assert "batch" not in shown["profiles"]["groq"]  # unset: the kind decides
    assert set(box) <= set(C.PROFILE_KEYS)


def test_config_show_output_loads_back(config_file, tmp_path):
    """`config show` prints keys the loader takes: what it shows is a config."""
    import tomli_w

    config_file('[profiles.box]\nprovider = "openai-compatible"\nbase_url = "http://h:1/v1"\nfallback = ["groq"]\n')
    shown = C.masked_dict(C.load())
    again = tmp_path / "again.toml"
    again.write_text(tomli_w.dumps(shown))
    assert C.load(again).profile("box").fallback == ("groq",)


def test_many_profiles_load_in_linear_time(tmp_path):
    """1,000 profiles took 3.9 s when every key lookup rescanned the file; the lines are indexed once now."""
    parts = [
        f'[profiles.p{i}]\nprovider = "openai-compatible"\nbase_url = "http://h{i}:8000/v1"\nmodel = "m{i}"\n'
        f'temperature = 0.3\nretries = 1\nheaders = {{ "X-A" = "b" }}\n'
        for i in range(1000)
    ]
    path = tmp_path / "many.toml"
    text = "\n".join(parts) + '\n[profiles.p999x]\nprovider = "openai-compatible"\nbase_url = "http://h/v1"\nmodle = 1\n'
    path.write_text(text)
    line = text.splitlines().index("modle = 1") + 1
    started = time.monotonic()
    config = C.load(path, strict=False)
    elapsed = time.monotonic() - started
    assert len(config.profiles) == 1000 + len(BUILTIN_PROFILES)
    assert config.problems == [f"{path}:{line}: profile 'p999x': unknown key 'modle' (did you mean 'model'?)"]
    assert elapsed < 3, elapsed  # ~0.07 s on an idle machine


@pytest.mark.parametrize(
    "text, line",
    [
        ('[profiles.a]\nprovider = "groq"\n\n[profiles.b]\n  modle = 1\n', 5),
        ('[ profiles . "b" ]\nmodle = 1\n', 2),
        ("[profiles.b]\n'modle' = 1\n", 2),
        ('[profiles]\nb = { modle = 1 }\n', 2),  # an inline table: its line
        ('[profiles.b]\nprovider = "groq"\n[profiles.b.headers]\nX = "y"\n[profiles.c]\nprovider = "groq"\nmodle = 1\n', 7),
    ],
)
def test_locator_lines(config_file, text, line):
    path = config_file(text)
    problems = C.load(strict=False).problems
    name = "c" if line == 7 else "b"
    assert problems[0].startswith(f"{path}:{line}: profile '{name}': unknown key 'modle'"), problems


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


def test_cli_config_example_is_a_valid_config_documenting_every_key(cli, tmp_path):
    result = cli("config", "example")
    assert result.code == 0 and result.stderr == ""
    assert result.stdout == C.example_text()
    path = tmp_path / "example.toml"
    path.write_text(result.stdout, encoding="utf-8")
    _check_example(result.stdout, path)
    assert cli("--config", str(path), "config", "validate").code == 0


def test_starter_points_to_config_example(cli, tmp_path):
    target = tmp_path / "config.toml"
    assert cli("--config", str(target), "config", "init", "-p", "groq").code == 0
    header = [line for line in target.read_text().splitlines() if line.startswith("#")]
    assert any("'llmcli config example'" in line and "every key" in line for line in header)
    assert not any("config.example.toml" in line for line in header)


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
