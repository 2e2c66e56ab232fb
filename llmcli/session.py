"""One call, end to end: profile -> endpoint -> backend -> events -> writer -> Answer.

This is the piece the CLI, and later batch jobs, share: it resolves the key,
loads the one backend that is needed (and so its SDK), applies our retry
policy, feeds the text to a writer as it streams, and returns what ``--json``
and ``-u`` report.  It knows no SDK and prints nothing itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import errors as E
from .config import Profile, resolve_api_key
from .providers import backend_for
from .providers.base import Backend, Done, Endpoint, Request, TextDelta, Usage
from .render import NullWriter, Writer
from .retry import stream_with_retries


@dataclass
class Answer:
    text: str
    profile: str
    provider: str
    model: str | None
    usage: Usage | None
    finish_reason: str | None
    seconds: float

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "profile": self.profile,
            "provider": self.provider,
            "model": self.model,
            "usage": (self.usage or Usage()).as_dict(),
            "finish_reason": self.finish_reason,
            "seconds": round(self.seconds, 3),
        }


def endpoint_for(profile: Profile, *, timeout: float | None = None, config_path: Path | None = None) -> Endpoint:
    """The profile with its key resolved (may run api_key_cmd; raises ConfigError if none)."""
    return Endpoint(
        profile=profile.name,
        kind=profile.provider,
        base_url=profile.base_url,
        api_key=resolve_api_key(profile, config_path),
        headers=dict(profile.headers),
        timeout=timeout if timeout is not None else profile.timeout,
    )


def complete(
    endpoint: Endpoint,
    request: Request,
    *,
    retries: int,
    writer: Writer | None = None,
    on_retry: Callable[[E.ProviderError, float, int], None] | None = None,
    backend: Backend | None = None,
) -> Answer:
    """Stream one answer into ``writer`` and return it whole.

    ``backend``: one already made for ``endpoint`` (batch workers share one, and so its connections).

    On Ctrl-C or an error mid-answer the writer is told to ``abort`` (what was
    printed stays printed) and the error propagates: KeyboardInterrupt
    becomes :class:`llmcli.errors.Interrupted`.
    """
    writer = writer or NullWriter()
    started = time.monotonic()
    backend = backend or backend_for(endpoint)
    parts: list[str] = []
    usage: Usage | None = None
    finish: str | None = None
    model: str | None = None
    try:
        for event in stream_with_retries(lambda: backend.stream(request), retries, on_retry=on_retry):
            if isinstance(event, TextDelta):
                parts.append(event.text)
                writer.feed(event.text)
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, Done):
                finish, model = event.finish_reason, event.model
        writer.finish()
    except KeyboardInterrupt:
        writer.abort()
        raise E.Interrupted("interrupted") from None
    except BaseException:
        writer.abort()
        raise
    return Answer(
        text="".join(parts),
        profile=endpoint.profile,
        provider=endpoint.kind,
        model=model or request.model,
        usage=usage,
        finish_reason=finish,
        seconds=time.monotonic() - started,
    )
