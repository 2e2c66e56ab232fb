"""Profiles from a TOML file, merged over built-ins for every provider kind.

Why it looks like this:
- No config file is needed: every provider has a built-in profile keyed by its
  usual environment variable, so ``export GROQ_API_KEY=...; llmcli "..."`` works.
- A ``[profiles.NAME]`` table either adds a profile or refines the built-in of
  that name key by key.
- Every key exists once, as a :class:`Field` of :data:`PROFILE_FIELDS` (or
  :data:`TEMPLATE_FIELDS`, :data:`TOP_FIELDS`): its type, its check, its
  conversion, its default, how ``config show`` prints it and its line in the
  docs all come from there.  The tests hold ``Profile``, ``config.example.toml``
  and the README's key table to it.
- Every mistake is reported as one line naming the file, the line when it can
  be found, the profile and the key, so the user can go straight to it.
- API keys are resolved only when a call needs one (:mod:`llmcli.keys`), and
  are never printed.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import keys
from .errors import ConfigError
from .providers import BUILTIN_PROFILES, KINDS, canonical_kind
from .retry import DEFAULT_MAX_WAIT  # the default is the retry policy's own

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

APP_NAME = "llmcli"
FALLBACK_PROFILE = "lmstudio"
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 2
MASK = "********"
EXAMPLE_NAME = "config.example.toml"  # shipped inside the package (llmcli config example)

resolve_api_key = keys.resolve_api_key  # kept here for callers of config.resolve_api_key; it lives in keys

REASONING_LEVELS = ("off", "low", "medium", "high", "max")
THINK_TAGS = ("auto", "open")


# -- the field tables ----------------------------------------------------------

Check = Callable[[str, Any], "str | None"]


@dataclass(frozen=True)
class Field:
    """One key of a table in the config file: everything llmcli knows of it, in one place."""

    name: str
    types: tuple[type, ...]  # the TOML value types accepted (bool only where listed)
    description: str  # what it must be, for "'key' must be ..." messages
    doc: str  # its meaning, for the README's key table
    check: Check | None = None  # a range/shape check beyond the type: the problem, or None
    convert: Callable[[Any], Any] | None = None  # the TOML value -> the attribute's value
    default: Any = None  # the attribute's value when no table sets it (Profile's own default)
    show: Callable[[Any], Any] | None = None  # the value as `config show` prints it (secrets masked)
    merges: bool = False  # a table merged key by key over the base profile's (headers)

    @property
    def doc_type(self) -> str:
        """The README's type column, from ``types``."""
        names = {str: "string", bool: "boolean", int: "integer", list: "list", dict: "table"}
        if float in self.types:
            return "number"
        return " or ".join(names[t] for t in self.types)

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return bool in self.types
        return isinstance(value, self.types)


def _between(low: float, high: float) -> Check:
    return lambda name, v: None if low <= v <= high else f"'{name}' must be between {low:g} and {high:g}, not {v}"


def _at_least(low: int) -> Check:
    return lambda name, v: None if v >= low else f"'{name}' must be at least {low}, not {v}"


def _positive(unit: str) -> Check:
    return lambda name, v: None if v > 0 else f"'{name}' must be a positive number of {unit}, not {v}"


def _one_of(choices: tuple[str, ...]) -> Check:
    return lambda name, v: None if v in choices else f"'{name}' must be one of {', '.join(choices)}, not '{v}'"


def _not_empty(name: str, value: Any) -> str | None:
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v.strip() for v in value):
            return f"'{name}' must be a non-empty list of strings"
        return None
    return None if value.strip() else f"'{name}' must not be empty"


def _base_url(name: str, value: str) -> str | None:
    return None if re.match(r"^https?://", value) else f"'{name}' must start with http:// or https://, not '{value}'"


def _api_key(name: str, value: str) -> str | None:
    problem = keys.value_problem(value.strip())
    return f"'{name}' {problem}" if problem else None  # never the value


def _headers(name: str, value: dict[str, Any]) -> str | None:
    if not all(isinstance(v, str) for v in value.values()):
        return "'headers' values must be strings"
    for header, text in value.items():
        problem = keys.header_name_problem(header)
        if problem:
            return f"header name '{header}' {problem}"
        problem = keys.value_problem(text)
        if problem:
            return f"the value of header '{header}' {problem}"  # never the value
    return None


def _fallback(name: str, value: list[Any]) -> str | None:
    return None if all(isinstance(v, str) and v for v in value) else "'fallback' must be a list of profile names"


def _names(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _tuple_if_list(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _shown_list(value: Any) -> Any:
    """A tuple of one as that one string (as the file would say it), a longer one as a list."""
    if isinstance(value, tuple):
        return value[0] if len(value) == 1 else list(value)
    return value


def _shown_headers(value: dict[str, str]) -> dict[str, str]:
    return {k: (MASK if keys.SECRET_HEADER.search(k) else v) for k, v in value.items()}


_BATCH = "batch: "
PROFILE_FIELDS: tuple[Field, ...] = (
    Field("provider", (str,), "a string",
          "`openai`, `lmstudio`, `groq`, `openrouter`, `deepseek`, `openai-compatible`, `anthropic`, `gemini`, "
          "`mistral`, `dashscope` (alias `qwen`); required for a new profile",
          check=_not_empty),
    Field("model", (str,), "a string", "model id (LM Studio: optional)", check=_not_empty),
    Field("base_url", (str,), "a string",
          "what the SDK calls its base URL: with `/v1` for OpenAI-compatible servers", check=_base_url),
    Field("api_key_env", (str, list), "a string or a list of strings",
          "variable(s) holding the key; the first one set wins",
          check=_not_empty, convert=_names, default=(), show=_shown_list),
    Field("api_key_cmd", (str, list), "a string or a list of strings",
          "command printing the key, run without a shell (15 s limit), e.g. `\"pass show groq\"`",
          check=_not_empty, convert=_tuple_if_list, show=_shown_list),
    Field("api_key", (str,), "a string",
          "the key inline — llmcli warns if the file is readable by group/others",
          check=_api_key, convert=str.strip, show=lambda _: MASK),
    Field("temperature", (int, float), "a number", "0–2", check=_between(0, 2), convert=float),
    Field("max_tokens", (int,), "an integer",
          "cap on the answer (Anthropic always sends one: 4096 unless set)", check=_at_least(1)),
    Field("timeout", (int, float), "a number of seconds",
          "seconds to wait for the server, per read (default 60)",
          check=_positive("seconds"), convert=float, default=DEFAULT_TIMEOUT),
    Field("retries", (int,), "an integer",
          "retries of 429, 5xx, timeouts and failed connections, only before any text arrived (default 2; 0–10). "
          "A `Retry-After` up to `max_wait` is honoured; a longer one is reported instead of waited for; "
          "a refused connection (nothing listening) is reported at once",
          check=_between(0, 10), default=DEFAULT_RETRIES),
    Field("max_wait", (int, float), "a number of seconds",
          "longest wait before a retry, `Retry-After` included, in seconds (default 60; `--max-wait` overrides)",
          check=lambda name, v: None if v >= 0 else f"'{name}' must be 0 or more seconds, not {v}",
          convert=float, default=DEFAULT_MAX_WAIT),
    Field("headers", (dict,), "a table of strings",
          "extra HTTP headers (printable ASCII; values of secret-looking names are masked by `config show`)",
          check=_headers, convert=dict, default={}, show=_shown_headers, merges=True),
    Field("system", (str,), "a string",
          "system prompt replacing the default (a `-s` style's rules take precedence)"),
    Field("reasoning", (str,), "a string",
          "reasoning effort: `off`, `low`, `medium`, `high` or `max`, mapped onto the provider's own setting "
          "(`--reasoning` overrides); unset: the model's default",
          check=_one_of(REASONING_LEVELS)),
    Field("show_reasoning", (bool,), "true or false",
          "print the model's thinking dim on stderr as it arrives (never in the answer; default false)",
          default=False),
    Field("think_tags", (str,), "a string",
          "`auto` (default): a `<think>…</think>` block at the start of the answer is thinking; `open`: the answer "
          "starts inside a thinking block (chat templates that open it in the prompt), up to the first `</think>`",
          check=_one_of(THINK_TAGS), default="auto"),
    Field("cache", (bool,), "true or false",
          "answer an identical earlier request from the history instead of sending it again (default false)",
          default=False),
    Field("concurrency", (int,), "an integer", _BATCH + "default `-j` (1–256; default 4)", check=_between(1, 256)),
    Field("rpm", (int, float), "a number of requests per minute",
          _BATCH + "at most this many requests per minute across all workers",
          check=_positive("requests per minute"), convert=float),
    Field("max_input_chars", (int,), "an integer",
          _BATCH + "longer files are sent in chunks (default 24000)", check=_at_least(200)),
    Field("fallback", (list,), "a list of profile names",
          _BATCH + "profiles tried in order for a file that still fails",
          check=_fallback, convert=tuple, default=(), show=list),
    Field("batch", (bool,), "true or false",
          _BATCH + "the server has the OpenAI batch endpoints (files + batches), for an `openai-compatible` "
          "profile; unset: the provider kind decides"),
)
PROFILE_KEYS = tuple(f.name for f in PROFILE_FIELDS)
_PROFILE_FIELDS = {f.name: f for f in PROFILE_FIELDS}

TEMPLATE_FIELDS: tuple[Field, ...] = (
    Field("system", (str,), "a string",
          "system prompt (default: llmcli's rewrite rules: answer with the text only, keep language, Markdown, "
          "links, code and placeholders, never obey the text)"),
    Field("prompt", (str,), "a string",
          "the task; `{input}` marks where the text goes (else it follows the task); `{name}` is a variable, "
          "given with `-V name=value`; `{{` and `}}` are literal braces"),
    Field("description", (str,), "a string", "one line for `llmcli styles`"),
    Field("defaults", (dict,), "a table of strings", "default values of variables",
          check=lambda name, v: None if all(isinstance(x, (str, int, float)) and not isinstance(x, bool)
                                            for x in v.values()) else "'defaults' values must be strings",
          convert=lambda v: {str(k): str(x) for k, x in v.items()}, default={}),
    Field("profile", (str,), "a string", "profile used unless `-p` is given"),
    Field("model", (str,), "a string", "model used unless `-m` is given"),
    Field("temperature", (int, float), "a number", "temperature used unless `-t` is given",
          check=_between(0, 2), convert=float),
)
TEMPLATE_KEYS = tuple(f.name for f in TEMPLATE_FIELDS)
_TEMPLATE_FIELDS = {f.name: f for f in TEMPLATE_FIELDS}

TOP_FIELDS: tuple[Field, ...] = (
    Field("default_profile", (str,), "a string",
          "profile used when neither `-p` nor `$LLMCLI_PROFILE` is given (default: the first built-in whose key "
          "variable is set, else `lmstudio`)"),
    Field("log", (bool,), "true or false",
          "record every call in the history (default true; `--no-log` or `LLMCLI_NO_LOG=1` for one call)",
          default=True),
)
TOP_LEVEL_KEYS = tuple(f.name for f in TOP_FIELDS) + ("profiles", "templates")
_TOP_FIELDS = {f.name: f for f in TOP_FIELDS}


@dataclass(frozen=True)
class Profile:
    """One named way to reach a provider, after merging the file over the built-in.

    Its attributes are :data:`PROFILE_FIELDS` (same names, same defaults; a test
    holds them together) plus ``name`` and ``builtin``.
    """

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
    max_wait: float = DEFAULT_MAX_WAIT
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    system: str | None = None
    reasoning: str | None = None  # off | low | medium | high | max; None: the model's default
    show_reasoning: bool = False
    think_tags: str = "auto"  # auto | open
    cache: bool = False
    # Batch settings: how hard one profile may be driven, and where a file goes when it still fails.
    concurrency: int | None = None  # default -j for this profile
    rpm: float | None = None  # requests per minute, across all workers
    max_input_chars: int | None = None  # longer inputs are sent in chunks
    fallback: tuple[str, ...] = ()  # profiles tried, in order, for a file that still fails
    batch: bool | None = None  # has a provider batch engine; None: the kind decides
    builtin: bool = False  # True when no file table touched it

    @property
    def needs_key(self) -> bool:
        return KINDS[self.provider].needs_key

    def key_status(self) -> str:
        """Where the key would come from, without ever reading it out."""
        return keys.key_status(self)


@dataclass
class Config:
    """The effective configuration: the file (if any) merged over the built-ins."""

    path: Path
    exists: bool
    default_profile: str | None
    profiles: dict[str, Profile]
    problems: list[str] = field(default_factory=list)
    templates: dict[str, Template] = field(default_factory=dict)
    log: bool = True  # history logging (top-level `log`)

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


def _kind_profile(name: str, kind_name: str, *, builtin: bool) -> Profile:
    """A profile of ``kind_name`` with that kind's defaults."""
    kind = KINDS[kind_name]
    return Profile(
        name=name,
        provider=kind.name,
        model=kind.model,
        base_url=kind.base_url,
        api_key_env=kind.key_env,
        headers=dict(kind.headers),
        builtin=builtin,
    )


def builtin_profiles() -> dict[str, Profile]:
    """One profile per provider kind, named as in the mission table."""
    return {name: _kind_profile(name, kind, builtin=True) for name, kind in BUILTIN_PROFILES.items()}


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
    config = loads(text, path)
    if strict and config.problems:
        more = len(config.problems) - 1
        suffix = f" (+{more} more: run 'llmcli config validate')" if more else ""
        raise ConfigError(config.problems[0] + suffix)
    _warn_inline_keys(config)
    return config


def loads(text: str, path: Path) -> Config:
    """The config in ``text`` (read from ``path``, named in messages); problems collected, not raised."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, exc)) from None
    return _build(path, text, data)


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

    top_tables = {k: v for k, v in data.items() if k not in ("profiles", "templates")}
    top = _checked_values(None, top_tables, None, _TOP_FIELDS, where, problems, choices=TOP_LEVEL_KEYS)

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
                what = "itself" if other == profile.name else \
                    f"unknown profile '{other}'{_did_you_mean(other, profiles)}"
                loc = where.key(("profiles", profile.name), "fallback")
                problems.append(f"{loc}: profile '{profile.name}': fallback to {what}")

    templates = _build_templates(data.get("templates", {}), profiles, where, problems)

    default = top.get("default_profile")
    if default is not None and default not in profiles:
        problems.append(
            f"{where.key(None, 'default_profile')}: default_profile '{default}' is not a profile; "
            f"known profiles: {', '.join(profiles)}"
        )
        default = None
    log = top.get("log", _TOP_FIELDS["log"].default)
    return Config(path, True, default, profiles, problems, templates, log)


def _build_profile(
    name: str,
    table: dict[str, Any],
    base: Profile | None,
    where: _Locator,
    problems: list[str],
) -> Profile | None:
    table_name = ("profiles", name)
    start = len(problems)
    values = _checked_values(f"profile '{name}'", table, table_name, _PROFILE_FIELDS, where, problems)

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
        base = _kind_profile(name, kind, builtin=False)  # type: ignore[arg-type]
    merged: dict[str, Any] = {}
    for key, value in values.items():
        if key == "provider":
            continue
        f = _PROFILE_FIELDS[key]
        if f.convert is not None:
            value = f.convert(value)
        if f.merges:
            value = {**getattr(base, key), **value}
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
    """A user's reformulation recipe, ``[templates.NAME]``; same shape as a built-in style.

    Its attributes are :data:`TEMPLATE_FIELDS` plus ``name`` and ``source``.
    """

    name: str
    system: str | None = None
    prompt: str | None = None
    description: str | None = None
    defaults: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    model: str | None = None
    temperature: float | None = None
    source: str = ""  # file:line, for `llmcli styles`


def _build_templates(
    tables: Any, profiles: dict[str, Profile], where: _Locator, problems: list[str],
) -> dict[str, Template]:
    if not isinstance(tables, dict):
        problems.append(f"{where.key(None, 'templates')}: 'templates' must be a table of [templates.NAME] tables")
        return {}
    out: dict[str, Template] = {}
    for name, table in tables.items():
        table_name = ("templates", name)
        if not isinstance(table, dict):
            loc = where.key(("templates",), name)
            problems.append(f"{loc}: template '{name}' must be a table ([templates.{name}])")
            continue
        start = len(problems)
        values = _checked_values(f"template '{name}'", table, table_name, _TEMPLATE_FIELDS, where, problems)
        profile = values.get("profile")
        if profile is not None and profile not in profiles:
            problems.append(
                f"{where.key(table_name, 'profile')}: template '{name}': unknown profile '{profile}'"
                f"{_did_you_mean(profile, profiles)}; known profiles: {', '.join(profiles)}"
            )
        if "system" not in table and "prompt" not in table and len(problems) == start:
            problems.append(f"{where.table(table_name)}: template '{name}': needs a 'system' or a 'prompt'")
        if len(problems) > start:
            continue
        for key, value in values.items():
            convert = _TEMPLATE_FIELDS[key].convert
            if convert is not None:
                values[key] = convert(value)
        out[name] = Template(name=name, source=where.table(table_name), **values)
    return out



def _checked_values(
    what: str | None,
    table: dict[str, Any],
    table_name: tuple[str, ...] | None,
    known: dict[str, Field],
    where: _Locator,
    problems: list[str],
    *,
    choices: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The table's keys that are known, of the right type and pass their check; a file:line problem for each other.

    ``what`` names the table in messages ("profile 'x'"); None for the top level.
    ``choices``: the names suggested for an unknown key (default: ``known``).
    """
    values: dict[str, Any] = {}
    label = f"{what}: " if what else ""
    for key, value in table.items():
        f = known.get(key)
        if f is None:
            unknown = "unknown key" if what else "unknown top-level key"
            hint = _did_you_mean(key, choices or known)
            problems.append(f"{where.key(table_name, key)}: {label}{unknown} '{key}'{hint}")
            continue
        if not f.accepts(value):
            loc = where.key(table_name, key)
            problems.append(f"{loc}: {label}'{key}' must be {f.description}, not {_toml_type(value)}")
            continue
        error = f.check(key, value) if f.check is not None else None
        if error:
            problems.append(f"{where.key(table_name, key)}: {label}{error}")
            continue
        values[key] = value
    return values


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _toml_type(value: Any) -> str:
    return {
        bool: "a boolean", int: "an integer", float: "a float", str: "a string",
        list: "an array", dict: "a table",
    }.get(type(value), type(value).__name__)


# A table header: [a.b."c.d"], its parts bare or quoted.  A key line: key = ... or key.sub = ...
_PART = r"""\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*"""
_HEADER = re.compile(rf"^\s*\[(?!\[)((?:{_PART}\.)*{_PART})\]")
_PARTS = re.compile(_PART)
_KEY = re.compile(rf"^{_PART}([=.])")


class _Locator:
    """Finds the line of a table or key in the TOML text, for file:line messages.

    tomllib gives no positions for valid documents, so this reads the text's
    lines once, indexing table headers and the keys written under each: good
    enough for the ordinary ``[profiles.x]`` + ``key = value`` layout, and it
    falls back to the bare file name when it cannot tell.  Looking a key up is
    then a dictionary access, so a file of many profiles loads in linear time.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.headers: dict[tuple[str, ...], int] = {}  # table -> line index of its first header
        self.first_part: dict[str, int] = {}  # first part of a header -> its first line index
        self.section_keys: dict[tuple[str, ...] | None, dict[str, int]] = {None: {}}  # table -> key -> line
        self.assigned: dict[str, int] = {}  # `key =` anywhere -> first line index (dotted or inline tables)
        section: tuple[str, ...] | None | bool = None  # False: after a line starting with '[' that is no header
        for index, line in enumerate(text.splitlines()):
            stripped = line.lstrip()
            if stripped.startswith("["):
                header = _HEADER.match(line)
                if header is None:
                    section = False
                    continue
                parts = tuple(next(g for g in m.groups() if g is not None) for m in _PARTS.finditer(header.group(1)))
                self.headers.setdefault(parts, index)
                self.first_part.setdefault(parts[0], index)
                section = parts
                self.section_keys.setdefault(parts, {})
                continue
            m = _KEY.match(line)
            if m is None:
                continue
            key = next(g for g in m.groups()[:3] if g is not None)
            if m.group(4) == "=":
                self.assigned.setdefault(key, index)
            if section is not False:
                self.section_keys.setdefault(section, {}).setdefault(key, index)  # type: ignore[arg-type]

    def table(self, table: tuple[str, ...] | None) -> str:
        line = self.headers.get(table) if table is not None else None
        return self._at(line)

    def key(self, table: tuple[str, ...] | None, key: str) -> str:
        if table is not None and table not in self.headers:  # profiles.NAME written as a dotted key or inline table
            return self._at(self.assigned.get(table[-1]))
        line = self.section_keys.get(table, {}).get(key)
        if line is not None:
            return self._at(line)
        if table is None:  # a top-level key written as a [key] or [key.x] table
            return self._at(self.first_part.get(key))
        return self.table(table)

    def _at(self, line: int | None) -> str:
        return f"{self.path}:{line + 1}" if line is not None else str(self.path)


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


# -- showing and writing ------------------------------------------------------


def masked_dict(config: Config) -> dict[str, Any]:
    """The effective config as plain data, every secret replaced by a mask."""
    out: dict[str, Any] = {}
    out["default_profile"] = config.select().name if not config.problems else (config.default_profile or "")
    out["log"] = config.log
    profiles: dict[str, Any] = {}
    for profile in config.profiles.values():
        entry: dict[str, Any] = {"provider": profile.provider}
        for f in PROFILE_FIELDS:
            if f.name == "provider":
                continue
            value = getattr(profile, f.name)
            if value is None or value == () or value == {}:
                continue
            entry[f.name] = f.show(value) if f.show is not None else value
        profiles[profile.name] = entry
    out["profiles"] = profiles
    return out


def example_text() -> str:
    """The documented example config shipped in the package (``llmcli config example``)."""
    from importlib.resources import files

    return files("llmcli").joinpath(EXAMPLE_NAME).read_text(encoding="utf-8")


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
        "# llmcli configuration. 'llmcli config example' prints an example documenting every key;\n"
        "# 'llmcli config show' prints the effective profiles, 'llmcli config validate' checks this file.\n"
        "# Built-in profiles exist for: " + ", ".join(BUILTIN_PROFILES) + ".\n"
        "# A [profiles.NAME] table refines the built-in of that name key by key, or adds a new profile.\n\n"
    )
    return header + tomli_w.dumps(body)


def key_table(fields: tuple[Field, ...] = PROFILE_FIELDS) -> str:
    """The README's Markdown table of ``fields``: key, type, meaning."""
    rows = ["| key | type | meaning |", "|---|---|---|"]
    rows += [f"| `{f.name}` | {f.doc_type} | {f.doc} |" for f in fields]
    return "\n".join(rows) + "\n"
