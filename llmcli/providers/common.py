"""Helpers every backend shares: building our errors, and the transport-level mapping.

Several SDKs let raw ``httpx``/``httpx2``/``requests`` exceptions escape (a
stall mid-stream, a refused connection).  :meth:`Errors.transport_mapping`
covers those for whichever of the three HTTP stacks is loaded, so each
backend's own table only lists its SDK's classes.  No SDK is imported here.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import threading
from typing import Any, Callable, Iterator

from .. import errors as E
from . import KINDS
from .base import Endpoint, Request


def chat_messages(request: Request) -> list[dict[str, str]]:
    """OpenAI-style messages: the system prompt as the first message (openai, mistral, dashscope)."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    messages.extend({"role": m.role, "content": m.content} for m in request.messages)
    return messages


def quiet_logger(name: str, *, propagate: bool = True) -> None:
    """Keep an SDK's log records off stderr.

    With no handler anywhere, Python's last-resort handler prints warnings on
    stderr; a NullHandler stops that.  ``propagate=False`` also keeps records
    from a root handler, for SDKs that log a traceback for every failed request.
    """
    logger = logging.getLogger(name)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    if not propagate:
        logger.propagate = False


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

    def require_key(self) -> None:
        """Fail before any request when the endpoint has no key.

        The caller (session.endpoint_for) already insists on a key for kinds that
        need one; this guards direct use of a backend, where some SDKs would go
        looking in their own variables and files, or send no auth header at all.
        """
        if not self.endpoint.api_key:
            names = " or ".join(KINDS[self.endpoint.kind].key_env)
            hint = f"set {names} or " if names else ""
            raise self.make(E.AuthError, f"no API key ({hint}the profile's api_key_env / api_key_cmd)")

    def timeout(self, _exc: BaseException | None = None) -> E.ProviderError:
        return self.make(E.ProviderTimeout, f"no answer within {self.endpoint.timeout:g} s")

    def connection(self, exc: BaseException | None = None) -> E.ProviderError:
        where = self.endpoint.base_url or "the server"
        detail = _short(exc)
        message = f"cannot reach {where}" + (f" ({detail})" if detail else "")
        err = self.make(E.ConnectError, message)
        if detail == "connection refused":
            err.retryable = False  # nothing listens there: retrying only delays the message
        if self.endpoint.kind == "lmstudio":
            err.hint = "start LM Studio's local server (Developer tab) or fix the profile's base_url"
        return err

    def cut(self, exc: BaseException | None = None) -> E.ProviderError:
        return self.make(E.IncompleteAnswer, "the connection closed in the middle of the answer")

    def stainless_mapping(self, sdk: Any, base: type[BaseException]) -> dict[type[BaseException], Any]:
        """The table for the Stainless-generated SDKs (openai, anthropic): same class names in each."""
        return {
            **self.transport_mapping(),
            sdk.APIStatusError: self.sdk_status_error,
            sdk.APITimeoutError: self.timeout,
            sdk.APIConnectionError: self.sdk_connection_error,
            sdk.APIError: self.stream_error,
            base: lambda exc: self.make(E.ProviderError, str(exc)),
        }

    def sdk_status_error(self, exc: Any) -> E.ProviderError:
        """A Stainless SDK's APIStatusError: the provider's message, its status and Retry-After."""
        message = provider_message(exc.body, fallback=getattr(exc, "message", "") or "")
        retry_after = header_retry_after(getattr(exc.response, "headers", None))
        return self.status(getattr(exc, "status_code", None), message, retry_after)

    def sdk_connection_error(self, exc: BaseException) -> E.ProviderError:
        """A Stainless SDK's APIConnectionError (openai, anthropic): a cut stream or an unreachable server."""
        cause = exc.__cause__ or exc.__context__
        cut = type(cause).__name__ in ("RemoteProtocolError", "ReadError")
        return self.cut(exc) if cut else self.connection(cause or exc)

    def stream_error(self, exc: BaseException) -> E.ProviderError:
        """An error the provider reported inside a stream that had started fine."""
        message = provider_message(getattr(exc, "body", None), fallback=getattr(exc, "message", str(exc)))
        return self.make(E.StreamError, message)

    def requests_connection_error(self, exc: BaseException) -> E.ProviderError:
        """requests reports a stall mid-stream as a ConnectionError wrapping urllib3's ReadTimeoutError."""
        if any("ReadTimeoutError" in type(x).__name__ for x in (*exc.args, exc.__context__) if x is not None):
            return self.timeout(exc)
        return self.connection(exc)

    def bad_json(self, exc: BaseException) -> E.ProviderError:
        return self.make(E.BadResponse, f"the server sent a response that is not valid JSON ({_short(exc)})")

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
            # JSONDecodeError is a RequestException too: not a connection failure.
            mapping[exc.InvalidJSONError] = self.bad_json
            mapping[exc.ConnectionError] = self.requests_connection_error
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
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "host name not found: offline, or a typo in base_url?"
    return text[:160]


@contextlib.contextmanager
def hidden_modules(names: tuple[str, ...]) -> Iterator[None]:
    """Make ``import NAME`` fail for the duration, as if NAME were not installed.

    openai, anthropic and google-genai import aiohttp eagerly whenever it is
    installed (dashscope depends on it), only to offer async clients a CLI never
    builds; their own "aiohttp is not installed" fallback costs nothing.  Hiding
    it while they load takes ~100 ms and ~9 MiB off every call (measured with
    bench/first_word.py).  Names already imported are left alone, and every
    name is importable again afterwards.
    """
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not available"
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_CLIENT_LOCK = threading.Lock()


class SDKBackend:
    """Plumbing every backend shares: its endpoint, its error builder, one SDK client made on first use.

    A subclass names its SDK's modules in ``sdk_modules`` (imported when the
    backend is built, never at module level, so ``--help`` loads none) and the
    optional extras the SDK loads eagerly but a synchronous CLI never uses in
    ``unused_extras``; it writes ``make_client()`` and ``mapping()`` (its SDK's
    exceptions -> ours, on top of ``transport_mapping``), then ``stream()`` and
    ``list_models()``.  The client is held for the backend's lifetime:
    google-genai's closes its HTTP client when collected.
    """

    sdk_modules: tuple[str, ...] = ()
    unused_extras: tuple[str, ...] = ()

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.errors = Errors(endpoint)
        self._client: Any = None
        with hidden_modules(self.unused_extras):
            for name in self.sdk_modules:
                importlib.import_module(name)

    def client(self) -> Any:
        """The one SDK client, made on first use; batch workers share it (a lock keeps it one)."""
        if self._client is None:
            with _CLIENT_LOCK, E.map_exceptions(self.mapping()):
                if self._client is None:
                    self._client = self.make_client()
        return self._client

    def make_client(self) -> Any:
        raise NotImplementedError

    def warm(self) -> None:
        """Make the SDK client now (if this backend has one), so the first request is not delayed by it."""
        if type(self).make_client is not SDKBackend.make_client:
            self.client()

    def mapping(self) -> dict[type[BaseException], Callable[[BaseException], E.ProviderError]]:
        return self.errors.transport_mapping()
