"""Helpers every backend shares: building our errors, and the transport-level mapping.

Several SDKs let raw ``httpx``/``httpx2``/``requests`` exceptions escape (a
stall mid-stream, a refused connection).  :meth:`Errors.transport_mapping`
covers those for whichever of the three HTTP stacks is loaded, so each
backend's own table only lists its SDK's classes.  No SDK is imported here.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from .. import errors as E
from . import KINDS
from .base import Endpoint


def provider_message(body: Any, fallback: str = "") -> str:
    """The provider's own error text from a decoded error body, whatever its shape."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            for key in ("message", "msg", "detail", "error"):
                value = inner.get(key)
                if isinstance(value, str) and value:
                    return value
        elif isinstance(inner, str) and inner:
            return inner
        for key in ("message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    elif isinstance(body, str) and body.strip():
        return body.strip()
    return fallback


def header_retry_after(headers: Any) -> float | None:
    """Seconds to wait from response headers (``retry-after-ms`` wins over ``retry-after``)."""
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms:
            return max(0.0, float(ms) / 1000.0)
    except (TypeError, ValueError):
        pass
    return E.parse_retry_after(headers.get("retry-after"))


class Errors:
    """Builds our errors already labelled with the endpoint's profile and provider."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.profile = endpoint.profile
        self.provider = KINDS[endpoint.kind].label

    def make(self, cls: type[E.ProviderError], message: str, **kw: Any) -> E.ProviderError:
        return cls(message, profile=self.profile, provider=self.provider, **kw)

    def status(self, status: int | None, message: str, retry_after: float | None = None) -> E.ProviderError:
        cls = E.error_for_status(status)
        if not message:
            message = f"the server answered {status}" if status else "the request failed"
        return self.make(cls, message, status=status, retry_after=retry_after)

    def timeout(self, _exc: BaseException | None = None) -> E.ProviderError:
        return self.make(E.TimeoutError, f"no answer within {self.endpoint.timeout:g} s")

    def connection(self, exc: BaseException | None = None) -> E.ProviderError:
        where = self.endpoint.base_url or "the server"
        detail = _short(exc)
        message = f"cannot reach {where}" + (f" ({detail})" if detail else "")
        err = self.make(E.ConnectionError, message)
        if self.endpoint.kind == "lmstudio":
            err.hint = "start LM Studio's local server (Developer tab) or fix the profile's base_url"
        return err

    def cut(self, exc: BaseException | None = None) -> E.ProviderError:
        return self.make(E.StreamError, "the connection closed in the middle of the answer")

    def transport_mapping(self) -> dict[type[BaseException], Callable[[BaseException], E.ProviderError]]:
        """Raw HTTP-stack exceptions -> our errors, for the stacks already imported."""
        mapping: dict[type[BaseException], Callable[[BaseException], E.ProviderError]] = {}
        for name in ("httpx", "httpx2"):
            mod = sys.modules.get(name)
            if mod is None:
                continue
            mapping[mod.TimeoutException] = self.timeout
            mapping[mod.RemoteProtocolError] = self.cut
            mapping[mod.ReadError] = self.cut
            mapping[mod.TransportError] = self.connection
        requests = sys.modules.get("requests")
        if requests is not None:
            exc = requests.exceptions
            mapping[exc.Timeout] = self.timeout
            mapping[exc.ChunkedEncodingError] = self.cut
            mapping[exc.ConnectionError] = self.connection
            mapping[exc.RequestException] = self.connection
        return mapping


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = " ".join(str(exc).split())
    if "Connection refused" in text or "ConnectError" in type(exc).__name__ and "refused" in text.lower():
        return "connection refused"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not text:
        text = " ".join(str(cause).split())
    if "refused" in text.lower():
        return "connection refused"
    return text[:160]
