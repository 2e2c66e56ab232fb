"""A call's settings, resolved once for every front-end: what to send, where, and how to retry.

Single mode, batch, ``--dry-run`` and the batch resume fingerprint all ask a
:class:`Call` what a request is; none of them combines flags, templates and
profiles itself, so a setting added here reaches every mode at once.

The precedence rule, for every setting (README, "Configuration"):

    command-line flag  >  the style or template (-s)  >  the profile  >  llmcli's built-in default

- ``model``: ``-m`` > the template's ``model`` > the profile's ``model``.  A fallback
  profile always uses its own model (a model name belongs to its provider).
- ``system``: ``--system`` > the style's system prompt (the shared rules, or the
  template's ``system``) > the profile's ``system`` > :data:`llmcli.prompt.DEFAULT_SYSTEM`.
- ``temperature``: ``-t`` > the template's > the profile's > not sent.
- ``max_tokens``, ``reasoning``, ``show_reasoning``, ``timeout``, ``retries``, ``max_wait``: the
  flag > the profile's > the built-in default (not sent / the provider kind's (DeepSeek: off,
  else the model's own) / off / 60 s / 2 / 60 s).
- the profile itself: ``-p`` > the template's ``profile`` > ``$LLMCLI_PROFILE`` >
  ``default_profile`` > the first built-in whose key variable is set > ``lmstudio``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import config as C
from . import presets
from .inputs import Document, Inputs
from .presets import Style
from .prompt import DEFAULT_SYSTEM, user_message
from .providers import KINDS
from .providers.base import Endpoint, Message, Request
from .retry import DEFAULT_MAX_WAIT, RetryPolicy


@dataclass(frozen=True)
class CallFlags:
    """What the command line says about a call; None means "not given" (the next rule applies)."""

    profile: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None
    timeout: float | None = None
    retries: int | None = None
    max_wait: float | None = None
    reasoning: str | None = None
    show_reasoning: bool | None = None
    style: str | None = None
    to: str | None = None
    variables: Sequence[str] = ()
    config_path: str | None = None


@dataclass(frozen=True)
class Composed:
    """The messages for one text: the style's (or no) system prompt, the user message, the documents in it."""

    system: str | None  # None: the profile's system, else the default (see Call.request)
    user: str
    documents: tuple[Document, ...]

    @property
    def source(self) -> str:
        """The text being rewritten (what the answer's clean-up compares against)."""
        return "".join(d.text for d in self.documents)


@dataclass(frozen=True)
class Call:
    """The resolved settings of one command: config, profile chain, style and its variables, flags."""

    flags: CallFlags
    config: C.Config
    profile: C.Profile
    fallbacks: tuple[C.Profile, ...] = ()
    style: Style | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    fell_back: bool = False  # nothing chose a profile and no key variable is set: the local fallback

    @classmethod
    def resolve(cls, flags: CallFlags, *, with_fallbacks: bool = False) -> Call:
        """Load the config and pick the style and profile; every usage error surfaces here, before any request."""
        from . import presets
        from .errors import UsageError

        if flags.reasoning is not None and flags.reasoning not in C.REASONING_LEVELS:
            raise UsageError(f"--reasoning {flags.reasoning}: expected one of {', '.join(C.REASONING_LEVELS)}")
        config = C.load(flags.config_path)
        style, values = presets.choose(flags.style, to=flags.to, variables=flags.variables, templates=config.templates)
        requested = flags.profile or (style.profile if style else None)
        profile = config.select(requested)
        fallbacks = tuple(config.profile(name) for name in profile.fallback) if with_fallbacks else ()
        fell_back = not requested and config.default_profile is None and not os.environ.get("LLMCLI_PROFILE") \
            and profile.name == C.FALLBACK_PROFILE
        return cls(flags, config, profile, fallbacks, style, values, fell_back)

    def no_provider(self, err: Exception) -> Exception:
        """A first run with no provider at all reads as a setup problem (exit 2), naming both ways out."""
        from .errors import ConnectError, UsageError

        if not (self.fell_back and isinstance(err, ConnectError) and "connection refused" in err.message):
            return err
        where = (self.profile.base_url or "").removesuffix("/v1")
        return UsageError(
            "no provider is set up: export a key (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GROQ_API_KEY, "
            f"MISTRAL_API_KEY, … see llmcli profiles) or start a local server at {where} (LM Studio, llama.cpp)"
        )

    @property
    def profiles(self) -> tuple[C.Profile, ...]:
        """The profile, then its fallbacks, in the order a failing text tries them."""
        return (self.profile, *self.fallbacks)

    # -- what is sent ---------------------------------------------------------------------------

    def compose(self, documents: Sequence[Document], instruction: str = "") -> Composed:
        """The messages for ``documents`` with the words ``instruction`` (the style's task, or the instruction)."""
        docs = tuple(documents)
        if self.style is None:
            return Composed(None, user_message(Inputs(instruction, docs)), docs)
        messages = presets.compose(self.style, docs, extra=instruction, variables=dict(self.values))
        return Composed(messages.system, messages.user, docs)

    def request(self, composed: Composed, profile: C.Profile | None = None,
                prior: Sequence[tuple[str, str]] = ()) -> Request:
        """The fully resolved request for ``composed`` sent through ``profile`` (default: the main one).

        ``prior``: an earlier conversation this call continues (``-c``), as (role, text)
        pairs, its system prompt first: sent before the new user message, its system
        prompt used unless ``--system`` or a style gives one.
        """
        profile = profile or self.profile
        prior_system = next((text for role, text in prior if role == "system"), None)
        earlier = tuple(Message(role, text) for role, text in prior if role != "system")
        main = profile.name == self.profile.name
        f, style = self.flags, self.style
        model = (f.model or (style.model if style else None)) if main else None
        return Request(
            messages=(*earlier, Message("user", composed.user)),
            model=model or profile.model,
            system=_first(f.system, composed.system, prior_system, profile.system, DEFAULT_SYSTEM),
            temperature=_first(f.temperature, style.temperature if style else None, profile.temperature),
            max_tokens=_first(f.max_tokens, profile.max_tokens),
            reasoning=_first(f.reasoning, profile.reasoning, KINDS[profile.provider].reasoning),
            want_reasoning=self.shows_reasoning(profile),
        )

    def shows_reasoning(self, profile: C.Profile | None = None) -> bool:
        """``--show-reasoning`` > the profile's ``show_reasoning``: the thinking is wanted on stderr (or in --json)."""
        return bool(_first(self.flags.show_reasoning, (profile or self.profile).show_reasoning, False))

    def think_tags_open(self, profile: C.Profile | None = None) -> bool:
        """The profile's ``think_tags = "open"``: its answers start inside a thinking block."""
        return (profile or self.profile).think_tags == "open"

    def check(self, request: Request, profile: C.Profile | None = None) -> list[str]:
        """Before any request: a reasoning level the model cannot take is a UsageError; warnings to print once.

        ``request``: what :meth:`request` resolved for ``profile`` (default: the main one).
        """
        from .providers import prepare

        _, warnings = prepare((profile or self.profile).provider, request)
        return warnings

    def endpoint(self, profile: C.Profile | None = None) -> Endpoint:
        """Where and how to reach ``profile``, its key resolved (may run api_key_cmd; no key: a ConfigError)."""
        from . import keys

        profile = profile or self.profile
        return Endpoint(
            profile=profile.name,
            kind=profile.provider,
            base_url=profile.base_url,
            api_key=keys.resolve_api_key(profile, self.config.path),
            headers=dict(profile.headers),  # checked (and their secrets remembered) by resolve_api_key
            timeout=_first(self.flags.timeout, profile.timeout),
        )

    def policy(self, profile: C.Profile | None = None) -> RetryPolicy:
        """The retry policy for ``profile``: ``--retries``/``--max-wait`` over the profile's keys."""
        profile = profile or self.profile
        return RetryPolicy(
            retries=_first(self.flags.retries, profile.retries),
            max_wait=_first(self.flags.max_wait, profile.max_wait, DEFAULT_MAX_WAIT),
        )

    def fingerprint(self, instruction: str = "", **extra: Any) -> str:
        """A stable id of "what would be sent", for the batch resume journal.

        It hashes the resolved request for a probe text through every profile of the
        chain (model, system, user message around the text, sampling, reasoning) and
        where it goes (kind, base URL), plus ``extra`` settings of the caller (chunk
        size, Markdown-safe, clean-up): any change to what is sent redoes a file.
        """
        probe = self.compose([Document("<probe>", "<probe>")], instruction)
        sent = []
        for profile in self.profiles:
            request = self.request(probe, profile)
            sent.append({
                "profile": profile.name, "kind": profile.provider, "base_url": profile.base_url,
                "request": asdict(request),
            })
        from .batch.manifest import fingerprint

        return fingerprint({"sent": sent, **extra})


def _first(*values: Any) -> Any:
    """The first value that is not None (the precedence rule, applied left to right)."""
    for value in values:
        if value is not None:
            return value
    return None


def describe(request: Request) -> str:
    """The request as JSON, for tests and ``--dry-run`` listings (no key is ever part of a Request)."""
    return json.dumps(asdict(request), ensure_ascii=False, sort_keys=True)
