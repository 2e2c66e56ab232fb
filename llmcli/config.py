"""Profiles from a TOML file, merged over built-ins for every provider kind.

Why it looks like this:
- No config file is needed: every provider has a built-in profile keyed by its
  usual environment variable, so ``export GROQ_API_KEY=...; llmcli "..."`` works.
- A ``[profiles.NAME]`` table either adds a profile or refines the built-in of
  that name key by key.
- Every mistake is reported as one line naming the file, the line when it can
  be found, the profile and the key, so the user can go straight to it.
- API keys are resolved only when a call needs one (never for ``--help``,
  ``profiles`` or ``config show``), and are never printed.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .providers import BUILTIN_PROFILES, KINDS, canonical_kind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP_NAME = "llmcli"
FALLBACK_PROFILE = "lmstudio"
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 2
API_KEY_CMD_TIMEOUT = 15.0
MASK = "********"

TOP_LEVEL_KEYS = ("default_profile", "profiles", "templates")


@dataclass(frozen=True)
class Profile:
    """One named way to reach a provider, after merging the file over the built-in."""

    name: str
    provider: str  # canonical kind, a key of providers.KINDS
    model: str | None = None
    base_url: str | None = None
    api_key_env: tuple[str, ...] = ()
    api_key_cmd: str | tuple[str, ...] | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    headers: dict[str, str] = field(default_factory=dict)
    system: str | None = None
    # Batch settings: how hard one profile may be driven, and where a file goes when it still fails.
    concurrency: int | None = None  # default -j for this profile
    rpm: float | None = None  # requests per minute, across all workers
    max_input_chars: int | None = None  # longer inputs are sent in chunks
    fallback: tuple[str, ...] = ()  # profiles tried, in order, for a file that still fails
    builtin: bool = False  # True when no file table touched it

    @property
    def needs_key(self) -> bool:
        return KINDS[self.provider].needs_key

    def key_status(self) -> str:
        """Where the key would come from, without ever reading it out."""
        if self.api_key:
            return "set (inline)"
        if self.api_key_cmd:
            return "command"
        for var in self.api_key_env:
            if os.environ.get(var):
                return f"set ({var})"
        if not self.needs_key:
            return "not needed"
        names = " or ".join(self.api_key_env) or "no variable"
        return f"missing ({names})"


# Key name -> (accepted python types, description for messages).
_KEY_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "provider": ((str,), "a string"),
    "model": ((str,), "a string"),
    "base_url": ((str,), "a string"),
    "api_key_env": ((str, list), "a string or a list of strings"),
    "api_key_cmd": ((str, list), "a string or a list of strings"),
    "api_key": ((str,), "a string"),
    "temperature": ((int, float), "a number"),
    "max_tokens": ((int,), "an integer"),
    "timeout": ((int, float), "a number of seconds"),
    "retries": ((int,), "an integer"),
    "headers": ((dict,), "a table of strings"),
    "system": ((str,), "a string"),
    "concurrency": ((int,), "an integer"),
    "rpm": ((int, float), "a number of requests per minute"),
    "max_input_chars": ((int,), "an integer"),
    "fallback": ((list,), "a list of profile names"),
}
PROFILE_KEYS = tuple(_KEY_TYPES)


@dataclass
class Config:
    """The effective configuration: the file (if any) merged over the built-ins."""

    path: Path
    exists: bool
    default_profile: str | None
    profiles: dict[str, Profile]
    problems: list[str] = field(default_factory=list)
    templates: dict[str, "Template"] = field(default_factory=dict)

    def profile(self, name: str, source: str = "") -> Profile:
        """The named profile; ``source`` says where an unknown name came from (e.g. "$LLMCLI_PROFILE")."""
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(self.profiles)
            close = difflib.get_close_matches(name, self.profiles, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            where = f" (from {source})" if source else ""
            raise ConfigError(f"unknown profile '{name}'{where}{hint}; known profiles: {known}") from None

    def select(self, requested: str | None = None) -> Profile:
        """The profile to use: flag, else $LLMCLI_PROFILE, else default_profile, else auto-detect."""
        if requested:
            return self.profile(requested)
        env = os.environ.get("LLMCLI_PROFILE")
        if env:
            return self.profile(env, "$LLMCLI_PROFILE")
        if self.default_profile:
            return self.profile(self.default_profile)
        return self.profile(self.detect_default())

    def detect_default(self) -> str:
        """The first built-in profile whose key variable is set, else lmstudio."""
        for name in BUILTIN_PROFILES:
            profile = self.profiles.get(name)
            if profile and profile.needs_key and any(os.environ.get(v) for v in profile.api_key_env):
                return name
        return FALLBACK_PROFILE


# -- locating the file --------------------------------------------------------


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--config, else $LLMCLI_CONFIG, else the platform's user config dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("LLMCLI_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False) / "config.toml"


# -- loading and validation ---------------------------------------------------


def builtin_profiles() -> dict[str, Profile]:
    """One profile per provider kind, named as in the mission table."""
    out = {}
    for name, kind_name in BUILTIN_PROFILES.items():
        kind = KINDS[kind_name]
        out[name] = Profile(
            name=name,
            provider=kind_name,
            model=kind.model,
            base_url=kind.base_url,
            api_key_env=kind.key_env,
            headers=dict(kind.headers),
            builtin=True,
        )
    return out


def load(explicit: str | os.PathLike[str] | None = None, *, strict: bool = True) -> Config:
    """Read and validate the config.  ``strict`` raises on the first problem; else they are collected."""
    path = config_path(explicit)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        if explicit or os.environ.get("LLMCLI_CONFIG"):
            # A path the user named must exist; the default location may not.
            raise ConfigError(f"{path}: config file not found") from None
        return Config(path, False, None, builtin_profiles())
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, exc)) from None
    config = _build(path, text, data)
    if strict and config.problems:
        more = len(config.problems) - 1
        suffix = f" (+{more} more: run 'llmcli config validate')" if more else ""
        raise ConfigError(config.problems[0] + suffix)
    _warn_inline_keys(config)
    return config


def _toml_error(path: Path, exc: Exception) -> str:
    """file:line:column: message, from tomllib's '... (at line L, column C)'."""
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        msg = msg[: m.start()].strip()
        return f"{path}:{m.group(1)}:{m.group(2)}: invalid TOML: {msg}"
    m = re.search(r"\(at end of document\)", msg)
    if m:
        return f"{path}: invalid TOML: {msg[: m.start()].strip()} at end of file"
    return f"{path}: invalid TOML: {msg}"


def _build(path: Path, text: str, data: dict[str, Any]) -> Config:
    problems: list[str] = []
    where = _Locator(path, text)

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.append(f"{where.key(None, key)}: unknown top-level key '{key}'{_did_you_mean(key, TOP_LEVEL_KEYS)}")

    profiles = builtin_profiles()
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        problems.append(f"{where.key(None, 'profiles')}: 'profiles' must be a table of [profiles.NAME] tables")
        tables = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            loc = where.key(("profiles",), name)
            problems.append(f"{loc}: profile '{name}' must be a table ([profiles.{name}])")
            continue
        profile = _build_profile(name, table, profiles.get(name), where, problems)
        if profile is not None:
            profiles[name] = profile

    for profile in profiles.values():
        for other in profile.fallback:
            if other not in profiles or other == profile.name:
                what = "itself" if other == profile.name else f"unknown profile '{other}'{_did_you_mean(other, profiles)}"
                problems.append(f"{where.key(('profiles', profile.name), 'fallback')}: profile '{profile.name}': fallback to {what}")

    templates = _build_templates(data.get("templates", {}), profiles, where, problems)

    default = data.get("default_profile")
    if default is not None:
        if not isinstance(default, str):
            problems.append(f"{where.key(None, 'default_profile')}: default_profile must be a string")
            default = None
        elif default not in profiles:
            problems.append(
                f"{where.key(None, 'default_profile')}: default_profile '{default}' is not a profile; "
                f"known profiles: {', '.join(profiles)}"
            )
            default = None
    return Config(path, True, default, profiles, problems, templates)


def _build_profile(
    name: str,
    table: dict[str, Any],
    base: Profile | None,
    where: "_Locator",
    problems: list[str],
) -> Profile | None:
    table_name = ("profiles", name)
    start = len(problems)
    values = _checked_values(f"profile '{name}'", table, table_name, _KEY_TYPES, _check_value, where, problems)

    kind = None
    if "provider" in values:
        kind = canonical_kind(values["provider"])
        if kind is None:
            loc = where.key(table_name, "provider")
            known = ", ".join(KINDS)
            problems.append(
                f"{loc}: profile '{name}': unknown provider '{values['provider']}'"
                f"{_did_you_mean(values['provider'], KINDS)}; known providers: {known}"
            )
    elif base is None and "provider" in table:
        pass  # already reported as a wrong type
    elif base is None:
        problems.append(
            f"{where.table(table_name)}: profile '{name}': 'provider' is required for a new profile "
            f"(one of: {', '.join(KINDS)})"
        )
    if len(problems) > start:
        return None

    if base is None or (kind is not None and kind != base.provider):
        # A new profile, or a built-in name switched to another kind: start
        # from that kind's defaults rather than the other provider's.
        defaults = KINDS[kind]  # type: ignore[index]
        base = Profile(
            name=name,
            provider=defaults.name,
            model=defaults.model,
            base_url=defaults.base_url,
            api_key_env=defaults.key_env,
            headers=dict(defaults.headers),
        )
    merged: dict[str, Any] = {}
    for key, value in values.items():
        if key == "provider":
            continue
        if key == "api_key_env":
            value = (value,) if isinstance(value, str) else tuple(value)
        elif key in ("api_key_cmd", "fallback") and isinstance(value, list):
            value = tuple(value)
        elif key in ("temperature", "timeout", "rpm"):
            value = float(value)
        elif key == "headers":
            value = {**base.headers, **value}
        merged[key] = value
    profile = replace(base, builtin=False, **merged)
    if profile.base_url is None:
        problems.append(
            f"{where.table(table_name)}: profile '{name}': provider '{profile.provider}' needs a 'base_url'"
        )
        return None
    return profile


# -- templates ----------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A user's reformulation recipe, ``[templates.NAME]``; same shape as a built-in style."""

    name: str
    system: str | None = None
    prompt: str | None = None
    description: str | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    model: str | None = None
    temperature: float | None = None
    source: str = ""  # file:line, for `llmcli styles`


_TEMPLATE_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "system": ((str,), "a string"),
    "prompt": ((str,), "a string"),
    "description": ((str,), "a string"),
    "defaults": ((dict,), "a table of strings"),
    "profile": ((str,), "a string"),
    "model": ((str,), "a string"),
    "temperature": ((int, float), "a number"),
}


def _build_templates(tables: Any, profiles: dict[str, Profile], where: "_Locator", problems: list[str]) -> dict[str, Template]:
    if not isinstance(tables, dict):
        problems.append(f"{where.key(None, 'templates')}: 'templates' must be a table of [templates.NAME] tables")
        return {}
    out: dict[str, Template] = {}
    for name, table in tables.items():
        table_name = ("templates", name)
        if not isinstance(table, dict):
            problems.append(f"{where.key(('templates',), name)}: template '{name}' must be a table ([templates.{name}])")
            continue
        start = len(problems)

        def check(key: str, value: Any) -> str | None:
            if key == "defaults" and not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value.values()):
                return "'defaults' values must be strings"
            if key == "profile" and value not in profiles:
                return f"unknown profile '{value}'{_did_you_mean(value, profiles)}; known profiles: {', '.join(profiles)}"
            return _check_value(key, value)

        values = _checked_values(f"template '{name}'", table, table_name, _TEMPLATE_KEYS, check, where, problems)
        if "system" not in table and "prompt" not in table and len(problems) == start:
            problems.append(f"{where.table(table_name)}: template '{name}': needs a 'system' or a 'prompt'")
        if len(problems) > start:
            continue
        if "defaults" in values:
            values["defaults"] = {str(k): str(v) for k, v in values["defaults"].items()}
        if "temperature" in values:
            values["temperature"] = float(values["temperature"])
        out[name] = Template(name=name, source=where.table(table_name), **values)
    return out


def _checked_values(
    what: str,
    table: dict[str, Any],
    table_name: tuple[str, ...],
    key_types: dict[str, tuple[tuple[type, ...], str]],
    check: Any,
    where: "_Locator",
    problems: list[str],
) -> dict[str, Any]:
    """The table's keys that are known, of the right type and pass ``check``; a file:line problem for each other."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        loc = where.key(table_name, key)
        if key not in key_types:
            problems.append(f"{loc}: {what}: unknown key '{key}'{_did_you_mean(key, key_types)}")
            continue
        types, expected = key_types[key]
        if isinstance(value, bool) or not isinstance(value, types):
            problems.append(f"{loc}: {what}: '{key}' must be {expected}, not {_toml_type(value)}")
            continue
        error = check(key, value)
        if error:
            problems.append(f"{loc}: {what}: {error}")
            continue
        values[key] = value
    return values


def _check_value(key: str, value: Any) -> str | None:
    """A range/shape check beyond the type; returns the problem or None."""
    if key == "temperature" and not 0 <= value <= 2:
        return f"'temperature' must be between 0 and 2, not {value}"
    if key == "max_tokens" and value < 1:
        return f"'max_tokens' must be at least 1, not {value}"
    if key == "timeout" and value <= 0:
        return f"'timeout' must be a positive number of seconds, not {value}"
    if key == "retries" and not 0 <= value <= 10:
        return f"'retries' must be between 0 and 10, not {value}"
    if key in ("api_key_env", "api_key_cmd") and isinstance(value, list):
        if not value or not all(isinstance(v, str) and v for v in value):
            return f"'{key}' must be a non-empty list of strings"
    if key == "headers" and not all(isinstance(v, str) for v in value.values()):
        return "'headers' values must be strings"
    if key == "concurrency" and not 1 <= value <= 256:
        return f"'concurrency' must be between 1 and 256, not {value}"
    if key == "rpm" and value <= 0:
        return f"'rpm' must be a positive number of requests per minute, not {value}"
    if key == "max_input_chars" and value < 200:
        return f"'max_input_chars' must be at least 200, not {value}"
    if key == "fallback" and not all(isinstance(v, str) and v for v in value):
        return "'fallback' must be a list of profile names"
    if key == "base_url" and not re.match(r"^https?://", value):
        return f"'base_url' must start with http:// or https://, not '{value}'"
    if key in ("model", "api_key_env", "api_key_cmd", "provider") and isinstance(value, str) and not value.strip():
        return f"'{key}' must not be empty"
    return None


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _toml_type(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a float", str: "a string",
        list: "an array", dict: "a table",
    }.get(type(value), type(value).__name__)


class _Locator:
    """Finds the line of a table or key in the TOML text, for file:line messages.

    tomllib gives no positions for valid documents, so this scans the text:
    good enough for the ordinary ``[profiles.x]`` + ``key = value`` layout,
    and it falls back to the bare file name when it cannot tell.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def table(self, table: tuple[str, ...] | None) -> str:
        line = self._table_line(table)
        return f"{self.path}:{line + 1}" if line is not None else str(self.path)

    def key(self, table: tuple[str, ...] | None, key: str) -> str:
        pattern = re.compile(rf"""^\s*(["']?){re.escape(key)}\1\s*[=.]""")
        if table is None:
            start = 0
        else:
            header = self._table_line(table)
            if header is None:  # profiles.NAME written as a dotted key or inline table
                return self._dotted(table)
            start = header + 1
        for index in range(start, len(self.lines)):
            if self.lines[index].lstrip().startswith("["):
                break
            if pattern.match(self.lines[index]):
                return f"{self.path}:{index + 1}"
        if table is None:  # a top-level key written as a [key] or [key.x] table
            prefix = re.compile(rf"^\s*\[\s*{re.escape(key)}\s*[.\]]")
            for index, line in enumerate(self.lines):
                if prefix.match(line):
                    return f"{self.path}:{index + 1}"
            return str(self.path)
        return self.table(table)

    def _dotted(self, table: tuple[str, ...]) -> str:
        pattern = re.compile(rf"""^\s*(["']?){re.escape(table[-1])}\1\s*=""")
        for index, line in enumerate(self.lines):
            if pattern.match(line):
                return f"{self.path}:{index + 1}"
        return str(self.path)

    def _table_line(self, table: tuple[str, ...] | None) -> int | None:
        if table is None:
            return None
        quoted = r"\s*\.\s*".join(rf"""(["']?){re.escape(p)}\{i + 1}""" for i, p in enumerate(table))
        pattern = re.compile(rf"^\s*\[\s*{quoted}\s*\]")
        for index, line in enumerate(self.lines):
            if pattern.match(line):
                return index
        return None


def _warn_inline_keys(config: Config) -> None:
    """An inline api_key in a file others can read is a leak waiting to happen: say so."""
    if not any(p.api_key for p in config.profiles.values()):
        return
    try:
        mode = config.path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        from .status import warn

        warn(
            f"{config.path} holds an inline api_key and is readable by others; "
            f"run: chmod 600 {shlex.quote(str(config.path))} (or use api_key_env / api_key_cmd)"
        )


# -- API keys ---------------------------------------------------------------


def resolve_api_key(profile: Profile, path: Path | None = None) -> str | None:
    """The key for a call: inline api_key, else api_key_cmd's output, else the first set variable.

    Raises ConfigError when the provider needs a key and none can be found, or
    when api_key_cmd fails; the message names the profile and what to set, never
    the key.
    """
    if profile.api_key:
        return profile.api_key
    if profile.api_key_cmd:
        return _run_key_cmd(profile)
    for var in profile.api_key_env:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    if not profile.needs_key:
        return None
    names = " or ".join(profile.api_key_env)
    where = f" in {path}" if path else ""
    hint = f"set {names}, or " if names else ""
    raise ConfigError(
        f"profile '{profile.name}': no API key: {hint}add api_key_env or api_key_cmd to [profiles.{profile.name}]{where}"
    )


def _run_key_cmd(profile: Profile) -> str:
    cmd = profile.api_key_cmd
    argv = list(cmd) if isinstance(cmd, tuple) else shlex.split(cmd or "")
    shown = argv[0] if argv else "''"
    label = f"profile '{profile.name}': api_key_cmd '{shown}'"
    if not argv:
        raise ConfigError(f"{label}: empty command")
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=API_KEY_CMD_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise ConfigError(f"{label}: command not found") from None
    except PermissionError:
        raise ConfigError(f"{label}: not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{label}: no answer within {API_KEY_CMD_TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot run: {exc.strerror}") from None
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()
        reason = f": {detail[-1][:200]}" if detail else ""
        raise ConfigError(f"{label} exited with status {done.returncode}{reason}")
    key = (done.stdout or "").strip().splitlines()
    if not key or not key[0].strip():
        raise ConfigError(f"{label} printed nothing")
    return key[0].strip()


# -- showing and writing ------------------------------------------------------

_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie", re.I)


def masked_dict(config: Config) -> dict[str, Any]:
    """The effective config as plain data, every secret replaced by a mask."""
    out: dict[str, Any] = {}
    out["default_profile"] = config.select().name if not config.problems else (config.default_profile or "")
    profiles: dict[str, Any] = {}
    for profile in config.profiles.values():
        entry: dict[str, Any] = {"provider": profile.provider}
        for f in fields(Profile):
            if f.name in ("name", "provider", "builtin"):
                continue
            value = getattr(profile, f.name)
            if value is None or value == () or value == {}:
                continue
            if f.name == "api_key":
                value = MASK
            elif f.name == "headers":
                value = {k: (MASK if _SECRET_HEADER.search(k) else v) for k, v in value.items()}
            elif isinstance(value, tuple):
                value = value[0] if len(value) == 1 else list(value)
            entry[f.name] = value
        profiles[profile.name] = entry
    out["profiles"] = profiles
    return out


def starter_toml(default_profile: str) -> str:
    """A small, valid config to start from (``llmcli config init``)."""
    import tomli_w

    kind = KINDS[BUILTIN_PROFILES.get(default_profile, "lmstudio")]
    body: dict[str, Any] = {"default_profile": default_profile, "profiles": {}}
    profile: dict[str, Any] = {"provider": kind.name}
    if kind.model:
        profile["model"] = kind.model
    if kind.key_env:
        profile["api_key_env"] = kind.key_env[0]
    profile["temperature"] = 0.3
    body["profiles"][default_profile] = profile
    header = (
        "# llmcli configuration. Every key is documented in config.example.toml\n"
        "# (https://github.com/llmcli/llmcli); 'llmcli config show' prints the effective profiles.\n"
        "# Built-in profiles exist for: " + ", ".join(BUILTIN_PROFILES) + ".\n"
        "# A [profiles.NAME] table refines the built-in of that name key by key, or adds a new profile.\n\n"
    )
    return header + tomli_w.dumps(body)
