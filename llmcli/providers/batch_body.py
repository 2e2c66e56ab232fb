"""From an SDK call's keyword arguments to the JSON body that call would send.

Each backend's ``batch_body`` passes its own ``_params`` through here, so a
provider batch line is the real-time request minus what is not body: the
streaming flags, the SDK's per-call options, and the SDK's "not given"
sentinels.  ``extra_body`` is merged in, as the Stainless SDKs (openai,
anthropic) merge it into the JSON they send.  No SDK is imported here.
"""

from __future__ import annotations

from typing import Any

# Keywords that shape the call, not the body, in every SDK a batch engine uses.
STREAMING = ("stream", "stream_options")
CALL_OPTIONS = ("extra_headers", "extra_query", "timeout")


def sdk_body(params: dict[str, Any], unset: tuple[type, ...], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """``params`` as the request body: sentinels of the ``unset`` types and the ``drop`` keys left out."""
    body: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in params.items():
        if key in STREAMING or key in CALL_OPTIONS or key in drop or (unset and isinstance(value, unset)):
            continue
        if key == "extra_body":
            extra = dict(value or {})
            continue
        body[key] = value
    body.update(extra)
    return body
