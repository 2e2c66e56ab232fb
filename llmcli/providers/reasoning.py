"""Reasoning levels: what ``--reasoning LEVEL`` means for each provider and model, before any SDK loads.

llmcli has one scale (``off``, ``low``, ``medium``, ``high``, ``max``); every
provider has its own field and its own values, and several reject some values
per model with a 400.  This module holds that knowledge in one table per kind,
so that

* the call layer can refuse a level a provider cannot take *before* any
  request (:func:`check_reasoning`, one line naming what it accepts),
* the call layer can drop a parameter the model rejects and say so once
  (:func:`prepare`, which returns the warning lines; backends never print),
* each backend turns the chosen :class:`Setting` into its own wire fields
  (``reasoning_effort``, Anthropic ``thinking``, Gemini ``thinking_config``...),
* a 400 that only the server could have predicted gets a hint naming the
  parameter to remove (:func:`explain`).

The model rules are known facts only (the providers' documentation and the
installed SDKs' types, as of December 2026); a model no rule knows gets the provider's general mapping and
the server decides, its 400 explained by :func:`explain`.  Imports no SDK.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .. import errors as E
from . import KINDS
from .base import Request

LEVELS = ("off", "low", "medium", "high", "max")

# Thinking tokens per level, for providers that take a budget rather than a named level
# (Anthropic before 4.6, Gemini 2.5, DashScope).  Anthropic's minimum is 1024.
BUDGETS = {"low": 2048, "medium": 8192, "high": 16384, "max": 32000}


@dataclass(frozen=True)
class Setting:
    """What one level means for one provider and model, in that provider's own terms.

    A backend reads only the fields its provider has: ``effort`` (a named level
    in the provider's words: OpenAI ``reasoning_effort``, Gemini ``thinking_level``...),
    ``budget`` (thinking tokens), ``enabled`` (an on/off switch: DeepSeek
    ``thinking``, DashScope ``enable_thinking``, Anthropic disabled/enabled),
    ``adaptive`` (Anthropic adaptive thinking, with ``effort``), ``mode``
    (Mistral ``prompt_mode``).
    """

    effort: str | None = None
    budget: int | None = None
    enabled: bool | None = None
    adaptive: bool = False
    mode: str | None = None

    @property
    def thinks(self) -> bool:
        """True when this setting turns thinking on (so the sampling limits of thinking apply)."""
        if self.enabled is not None:
            return self.enabled
        if self.adaptive or self.mode is not None:
            return True
        if self.budget is not None:
            return self.budget != 0
        return self.effort is not None and self.effort.lower() not in ("none", "minimal")


# level -> Setting; None: accepted, nothing to send (e.g. "off" on a model that never reasons).
Levels = Mapping[str, "Setting | None"]


@dataclass(frozen=True)
class Rule:
    pattern: str  # searched (case-insensitively) in the model name
    levels: Levels
    note: str = ""  # why some levels are missing, for the error line

    def matches(self, model: str) -> bool:
        return re.search(self.pattern, model, re.IGNORECASE) is not None


def _efforts(**names: str) -> dict[str, Setting | None]:
    return {level: Setting(effort=name) for level, name in names.items()}


_NONE: Levels = {"off": None}  # a model that does not reason: "off" is what it does already
_NOT_REASONING = "it does not reason"
_LMH = _efforts(low="low", medium="medium", high="high")


def _budgets(*, off: int | None, high: int, top: int) -> dict[str, Setting | None]:
    levels: dict[str, Setting | None] = {} if off is None else {"off": Setting(budget=off)}
    levels.update(low=Setting(budget=BUDGETS["low"]), medium=Setting(budget=BUDGETS["medium"]),
                  high=Setting(budget=high), max=Setting(budget=top))
    return levels


# -- the tables: first matching rule wins, the last has the pattern "" (any model) --------------

_OPENAI = (
    # Chat models that do not reason (gpt-4.x, gpt-4o, the gpt-5 "chat" variants).
    Rule(r"^(gpt-4|gpt-3\.5|chatgpt-|gpt-5(\.\d+)?-chat)", _NONE, _NOT_REASONING),
    Rule(r"^gpt-5-pro", {"high": Setting(effort="high")}, "it reasons at high only"),
    # o-series and gpt-5 (5.0): low/medium/high (and minimal); no "none".
    Rule(r"^(o\d|gpt-5(-mini|-nano|-codex)?(-\d{4}-\d\d-\d\d)?$)", _LMH, "its reasoning cannot be turned off"),
    # gpt-5.1: none/low/medium/high; xhigh came later (after gpt-5.1-codex-max).
    Rule(r"^gpt-5\.1", {"off": Setting(effort="none"), **_LMH}, ""),
    Rule(r"", {"off": Setting(effort="none"), **_LMH, "max": Setting(effort="xhigh")}),
)

_OPENROUTER = (
    Rule(r"", {"off": Setting(effort="none"), **_LMH, "max": Setting(effort="xhigh")}),
)

_DEEPSEEK = (
    # thinking on/off via extra_body; effort typed.  The server maps low/medium itself.
    Rule(r"", {"off": Setting(enabled=False),
               **{lv: Setting(enabled=True, effort=lv) for lv in ("low", "medium", "high", "max")}}),
)

_GROQ = (
    # qwen3: reasoning_effort "none" or "default" only (a 400 names them).
    Rule(r"qwen3", {"off": Setting(effort="none"), "high": Setting(effort="default")},
         "it reasons fully or not at all"),
    Rule(r"gpt-oss", _LMH, "its reasoning cannot be turned off"),
    Rule(r"(^|/)(llama|meta-llama|gemma|mixtral)", _NONE, _NOT_REASONING),
    Rule(r"", {"off": Setting(effort="none"), **_LMH}, "Groq has no higher level"),
)

# LM Studio, Ollama, llama-server: the values they share (Ollama rejects anything else).
_LOCAL = (
    Rule(r"", {"off": Setting(effort="none"), **_LMH}, "local servers share no higher level"),
)

_ANTHROPIC = (
    Rule(r"^claude-(2|instant|3-(5|opus|sonnet|haiku))", _NONE, "it does not think"),
    # Claude 4.5 and older thinking models: "enabled" with a token budget only.
    Rule(r"^claude-(3-7-sonnet|sonnet-4|opus-4|opus-4-1|opus-4-5|sonnet-4-5|haiku-4-5)(-\d{8}|-latest)?$",
         {"off": Setting(enabled=False),
          **{lv: Setting(enabled=True, budget=BUDGETS[lv]) for lv in ("low", "medium", "high", "max")}}),
    # Adaptive only: "enabled" and "disabled" are a 400.
    Rule(r"^claude-(opus-4-[7-9]|mythos|fable)",
         {lv: Setting(enabled=True, adaptive=True, effort=lv) for lv in ("low", "medium", "high", "max")},
         "its thinking cannot be turned off"),
    # 4.6 and later: adaptive + effort.
    Rule(r"", {"off": Setting(enabled=False),
               **{lv: Setting(enabled=True, adaptive=True, effort=lv) for lv in ("low", "medium", "high", "max")}}),
)

_GEMINI = (
    Rule(r"^gemini-(1\.|2\.0)", _NONE, "it does not think"),
    # 2.5: a budget; Pro cannot turn thinking off (128..32768), Flash/Flash-Lite can (0..24576).
    Rule(r"^gemini-2\.5-pro", _budgets(off=None, high=BUDGETS["high"], top=32768), "its thinking cannot be turned off"),
    Rule(r"^gemini-2\.5", _budgets(off=0, high=BUDGETS["high"], top=24576)),
    # 3.x: a named level, never together with a budget.
    Rule(r"^gemini-3(\.\d+)?-pro", _efforts(low="LOW", medium="MEDIUM", high="HIGH"),
         "its thinking cannot be turned off"),
    Rule(r"^gemini-3\.8-flash(?!-lite)", _efforts(low="LOW", medium="MEDIUM", high="HIGH"),
         "its lowest level is low"),
    Rule(r"^gemini-3", _efforts(off="MINIMAL", low="LOW", medium="MEDIUM", high="HIGH")),
    Rule(r"", _efforts(off="MINIMAL", low="LOW", medium="MEDIUM", high="HIGH", max="XHIGH")),
)

_MISTRAL = (
    Rule(r"^magistral", {"high": Setting(mode="reasoning")}, "it always reasons, with no levels"),
    # Mistral Small 4 (mistral-small-latest): none or high.
    Rule(r"^mistral-small-(latest|4|26\d\d)", {"off": Setting(effort="none"), "high": Setting(effort="high")},
         "it reasons fully or not at all"),
    Rule(r"", {"off": Setting(effort="none"), **_LMH, "max": Setting(effort="max")}),
)

_DASHSCOPE_ON = {"low": Setting(enabled=True, budget=BUDGETS["low"]),
                 "medium": Setting(enabled=True, budget=BUDGETS["medium"]),
                 "high": Setting(enabled=True)}  # high: the model's own maximum
_DASHSCOPE = (
    Rule(r"(^qwq|thinking|^deepseek-r1)", _DASHSCOPE_ON, "it always thinks"),
    Rule(r"", {"off": Setting(enabled=False), **_DASHSCOPE_ON}, "DashScope has no level above high"),
)

TABLES: dict[str, tuple[Rule, ...]] = {
    "openai": _OPENAI,
    "openrouter": _OPENROUTER,
    "deepseek": _DEEPSEEK,
    "groq": _GROQ,
    "lmstudio": _LOCAL,
    "openai-compatible": _LOCAL,
    "anthropic": _ANTHROPIC,
    "gemini": _GEMINI,
    "mistral": _MISTRAL,
    "dashscope": _DASHSCOPE,
}


# -- what the call layer and the backends ask ------------------------------------------------------


def _model_name(kind: str, model: str | None) -> str:
    name = model or KINDS[kind].model or ""
    return name.removeprefix("models/")  # Gemini's long form


def _rule(kind: str, model: str) -> Rule:
    return next(rule for rule in TABLES[kind] if rule.matches(model))


def _join(levels: list[str]) -> str:
    quoted = [f"'{lv}'" for lv in levels]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def setting(kind: str, model: str | None, level: str | None) -> Setting | None:
    """The provider's own meaning of ``level`` for ``model``; None: send nothing.

    Raises :class:`llmcli.errors.UsageError` (one line naming what is accepted)
    for an unknown level or one this provider/model cannot take.
    """
    if level is None:
        return None
    if level not in LEVELS:
        raise E.UsageError(f"unknown reasoning level '{level}': use {_join(list(LEVELS))}")
    name = _model_name(kind, model)
    rule = _rule(kind, name)
    if level in rule.levels:
        return rule.levels[level]
    accepted = [lv for lv in LEVELS if lv in rule.levels]
    what = f"{KINDS[kind].label} model '{name}'" if name else KINDS[kind].label
    why = f" ({rule.note})" if rule.note else ""
    raise E.UsageError(f"reasoning '{level}' is not available for {what}{why}: it takes {_join(accepted)}")


def check_reasoning(kind: str, model: str | None, level: str | None) -> None:
    """Fail before any request when ``level`` is not one this provider and model take (UsageError)."""
    setting(kind, model, level)


# Models that reject a temperature whatever else is sent (400 "'temperature' is deprecated for this model").
_ANTHROPIC_NO_SAMPLING = r"^claude-opus-4-[7-9]"
# OpenAI reasoning models reject temperature != 1 ...
_OPENAI_REASONING = r"^(o\d|gpt-[5-9])(?!(\.\d+)?-chat)"
# ... except the gpt-5.1+ family with reasoning_effort "none".
_OPENAI_TEMPERATURE_WHEN_OFF = r"^(gpt-5\.[1-9]|gpt-[6-9])"


def _rejects_temperature(kind: str, model: str, level: str | None, chosen: Setting | None) -> str | None:
    """Why this call must not carry a temperature ('' or a reason phrase), or None when it may."""
    if kind == "openai" and re.search(_OPENAI_REASONING, model, re.IGNORECASE):
        if re.search(_OPENAI_TEMPERATURE_WHEN_OFF, model, re.IGNORECASE) and level in (None, "off"):
            return None  # reasoning_effort none (their default): sampling is accepted
        return ""
    if kind == "anthropic":
        if re.search(_ANTHROPIC_NO_SAMPLING, model, re.IGNORECASE):
            return ""
        if chosen is not None and chosen.thinks:
            return " with thinking on"
    return None


def prepare(kind: str, request: Request) -> tuple[Request, list[str]]:
    """The request as it should be sent, and the warning lines to print (stderr) about what changed.

    Validates ``request.reasoning`` (UsageError before any request) and drops
    a temperature the model or mode rejects, with one warning.  Pure and
    idempotent: backends call it too (ignoring the warnings) as a defence.
    """
    chosen = setting(kind, request.model, request.reasoning)
    warnings: list[str] = []
    if request.temperature is not None:
        model = _model_name(kind, request.model)
        why = _rejects_temperature(kind, model, request.reasoning, chosen)
        if why is not None:
            warnings.append(f"{KINDS[kind].label} model '{model}' does not take a temperature{why}: "
                            f"{request.temperature:g} is not sent")
            request = dataclasses.replace(request, temperature=None)
    return request, warnings


# Words in a provider's 400 that name a reasoning parameter.
_REASONING_WORDS = ("reasoning", "thinking", "effort", "thought")


def explain(err: E.ProviderError, request: Request) -> E.ProviderError:
    """Give a 400 caused by a parameter llmcli sent a hint naming what to remove; return ``err``."""
    if not isinstance(err, E.BadRequestError) or err.hint:
        return err
    text = err.message.lower()
    if "temperature" in text and request.temperature is not None:
        err.hint = "this model does not take a temperature: remove -t / the profile's 'temperature'"
    elif "budget_tokens" in text or ("max_tokens" in text and "thinking" in text):
        err.hint = "raise --max-tokens or lower --reasoning"
    elif request.reasoning is not None and any(word in text for word in _REASONING_WORDS):
        err.hint = (f"this model does not take reasoning '{request.reasoning}': "
                    "choose another --reasoning level or leave it unset")
    elif "max_completion_tokens" in text and "max_tokens" in text:
        err.hint = "this server wants max_completion_tokens: use provider = \"openai\" for this base_url"
    return err
