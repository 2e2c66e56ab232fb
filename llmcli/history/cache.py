"""The cache key: what makes two requests the same request (``--cache``).

Identical means the same provider kind, base URL, model, messages (the
system prompt included) and generation parameters: anything that can change
the answer.  Never the key or a header: two keys for the same account get
the same answers, and a key must not be recoverable from anything stored.
The key is a sha256 of a canonical JSON, so it reveals none of the text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..providers.base import Request

VERSION = "llmcli-cache-1"  # change it when the rule changes: old keys then simply miss


def cache_key(
    kind: str,
    base_url: str | None,
    model: str | None,
    messages: Iterable[Any],
    params: Mapping[str, Any] | None = None,
) -> str:
    """The key of a request.  ``messages``: Message objects, (role, content) pairs or {"role", "content"} dicts.

    Parameters set to None are left out (None means "the provider's
    default", the same as not sending it).
    """
    payload = [
        VERSION,
        kind,
        (base_url or "").rstrip("/"),
        model or "",
        [list(message_pair(m)) for m in messages],
        {k: v for k, v in sorted((params or {}).items()) if v is not None},
    ]
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def request_key(kind: str, base_url: str | None, request: Request) -> str:
    """The key of a resolved :class:`Request` sent to a provider kind at a base URL."""
    return cache_key(kind, base_url, request.model, request_messages(request), request_params(request))


def request_messages(request: Request) -> list[tuple[str, str]]:
    """The conversation as sent: the system prompt first (when there is one), then the messages."""
    head = [("system", request.system)] if request.system else []
    return head + [(m.role, m.content) for m in request.messages]


def request_params(request: Request) -> dict[str, Any]:
    """The generation parameters of a request (what besides the messages changes the answer)."""
    return {"temperature": request.temperature, "max_tokens": request.max_tokens, "reasoning": request.reasoning}


def message_pair(message: Any) -> tuple[str, str]:
    """(role, content) of a message given as a mapping, a pair, or an object with those attributes."""
    if isinstance(message, Mapping):
        return str(message["role"]), str(message["content"])
    if isinstance(message, (tuple, list)):
        role, content = message
        return str(role), str(content)
    return str(message.role), str(message.content)
