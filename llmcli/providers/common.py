"""Helpers every backend shares: building our errors, and the transport-level mapping.

Several SDKs let raw ``httpx``/``httpx2``/``requests`` exceptions escape (a
stall mid-stream, a refused connection).  :meth:`Errors.transport_mapping`
covers those for whichever of the three HTTP stacks is loaded, so each
backend's own table only lists its SDK's classes.  No SDK is imported here.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from .. import errors as E
from . import KINDS, bodies
from .base import Endpoint, Event, Request


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
    """The provider's own error text from a decoded error body, whatever its shape.

    Clipped to one short line, and an HTML page (a proxy's or a web server's,
    not the API's) summarised by its title rather than pasted whole.
    """
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            for key in ("message", "msg", "detail", "error"):
                value = inner.get(key)
                if isinstance(value, str) and value:
                    return bodies.provider_text(value)
        elif isinstance(inner, str) and inner:
            return bodies.provider_text(inner)
        for key in ("message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return bodies.provider_text(value)
    elif isinstance(body, (str, bytes)) and bodies.as_text(body).strip():
        return bodies.provider_text(body)
    return bodies.provider_text(fallback) if fallback else ""


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


# 5xx statuses a retry cannot fix: the server does not implement the method (or the HTTP version).
NEVER_RETRIED = (501, 505)
# Profile headers whose values are credentials, remembered as secrets like the key.
_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session|passw", re.I)
# An HTTP stack quoting a header it refused to send ("Illegal header value b'Bearer sk-…'").
_HEADER_QUOTE = re.compile(r"(header (?:value|name|field)s?)\s*:?\s*b?(['\"]).*\2", re.I)
# A message built here is one line of at most this many characters.
MAX_ERROR_TEXT = 400


class Errors:
    """Builds our errors already labelled with the endpoint's profile and provider.

    Every message is scrubbed of the secrets the endpoint holds (remembered
    here, so even a backend used without the CLI masks them) and clipped:
    whatever an SDK or a server put in an exception, one short line comes out.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.profile = endpoint.profile
        self.provider = KINDS[endpoint.kind].label
        remember_secret_forms(endpoint.api_key)
        for name, value in endpoint.headers.items():
            if _SECRET_HEADER.search(name):
                remember_secret_forms(value)

    def make(self, cls: type[E.ProviderError], message: str, **kw: Any) -> E.ProviderError:
        return cls(clean_text(message), profile=self.profile, provider=self.provider, **kw)

    def status(self, status: int | None, message: str, retry_after: float | None = None) -> E.ProviderError:
        cls = E.error_for_status(status)
        if not message:
            message = f"the server answered {status}" if status else "the request failed"
        err = self.make(cls, message, status=status, retry_after=retry_after)
        if status in NEVER_RETRIED:
            err.retryable = False
            err.hint = "the server does not implement this API: check the profile's base_url"
        elif bodies.NOT_API in message and not err.retryable and cls is not E.NotFoundError:
            err.hint = E.BadResponse.hint  # a proxy's or a web server's page: the URL is the likely fault
        return err

    def bad_response(self, what: str, status: int | None = None) -> E.ProviderError:
        """The server sent ``what`` (see :mod:`.bodies`) instead of its API's answer: never retried."""
        return self.make(E.BadResponse, f"the server sent {what}", status=status)

    def check_response(self, response: Any) -> None:
        """An httpx response hook: a 2xx that is an HTML page or an empty body is not the API's answer.

        The SDKs would parse such a body as an empty stream (a "successful"
        call with no text) or quote it whole; raising here, before the SDK
        sees it, gives one line saying what came.  Error statuses are left to
        the SDK (its status error carries Retry-After); redirects are followed.
        """
        status = response.status_code
        if not 200 <= status < 300 or status == 204:
            return
        content_type = (response.headers.get("content-type") or "").lower()
        if "html" in content_type:
            raise self.bad_response(f"{bodies.describe(_read_head(response))}, {bodies.NOT_API}")
        if response.headers.get("content-length") == "0":
            raise self.bad_response(f"{bodies.EMPTY}, {bodies.NOT_API}")

    def http_hooks(self) -> dict[str, list[Callable[[Any], None]]]:
        """``event_hooks`` for an httpx/httpx2 client an SDK is given."""
        return {"response": [self.check_response]}

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

    def unsendable(self, exc: BaseException | None = None) -> E.ProviderError:
        """The HTTP stack refused to send the request: a header value (the key, a profile header) is not valid HTTP.

        Or, for a UnicodeEncodeError in UTF-8, the body: text that is no valid
        Unicode (a lone surrogate) cannot be sent as JSON.  The value itself is
        never quoted: it may be the key.
        """
        if isinstance(exc, UnicodeEncodeError) and exc.encoding.replace("-", "").lower().startswith("utf"):
            return self.make(E.ProviderError, "the request could not be encoded: it holds text that is not valid "
                                              "Unicode (a file name that is not UTF-8?)")
        err = self.make(E.ProviderError, "the request could not be sent: a header value is not valid in HTTP "
                                         "(a line break or a non-ASCII character in the API key or a profile header?)")
        err.hint = "check the profile's API key and headers"
        return err

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
        if isinstance(cause, E.ProviderError):
            return cause  # raised by our own response hook inside the SDK's request
        name = type(cause).__name__
        if name == "LocalProtocolError" or isinstance(cause, UnicodeEncodeError):
            return self.unsendable(cause)
        cut = name in ("RemoteProtocolError", "ReadError")
        return self.cut(exc) if cut else self.connection(cause or exc)

    def stream_error(self, exc: BaseException) -> E.ProviderError:
        """An error the provider reported inside a stream that had started fine."""
        message = provider_message(getattr(exc, "body", None), fallback=getattr(exc, "message", str(exc)))
        return self.make(E.StreamError, message)

    def requests_connection_error(self, exc: BaseException) -> E.ProviderError:
        """requests reports a stall mid-stream as a ConnectionError wrapping urllib3's ReadTimeoutError."""
        if any("ReadTimeoutError" in type(x).__name__ for x in (*exc.args, exc.__context__) if x is not None):
            return self.timeout(exc)
        if _mentions_reset(exc):
            return self.cut(exc)
        return self.connection(exc)

    def bad_json(self, exc: BaseException) -> E.ProviderError:
        """A body or a stream event that is not JSON; what it was instead, when the parser kept it."""
        doc = getattr(exc, "doc", None)
        if isinstance(doc, str):
            return self.bad_response(_not_json(doc))
        return self.bad_response("a response that is not valid JSON")

    def not_utf8(self, exc: BaseException) -> E.ProviderError:
        """Bytes an SDK could not decode as UTF-8: every API here sends UTF-8 JSON."""
        data = getattr(exc, "object", b"")
        start = getattr(exc, "start", None)
        where = f" (byte 0x{data[start]:02x})" if isinstance(data, bytes) and isinstance(start, int) \
            and 0 <= start < len(data) else ""
        return self.bad_response(f"bytes that are not UTF-8{where}, {bodies.NOT_API}")

    def transport_mapping(self) -> dict[type[BaseException], Callable[[BaseException], E.ProviderError]]:
        """Raw HTTP-stack exceptions -> our errors, for the stacks already imported.

        Also what a malformed server makes an SDK's parser raise: invalid JSON
        and bytes that are not UTF-8 are the server's fault, not llmcli's bug.
        """
        mapping: dict[type[BaseException], Callable[[BaseException], E.ProviderError]] = {
            json.JSONDecodeError: self.bad_json,
            UnicodeDecodeError: self.not_utf8,
            UnicodeEncodeError: self.unsendable,  # a header value the stack cannot encode
        }
        for name in ("httpx", "httpx2"):
            mod = sys.modules.get(name)
            if mod is None:
                continue
            mapping[mod.TimeoutException] = self.timeout
            mapping[mod.RemoteProtocolError] = self.cut
            mapping[mod.ReadError] = self.cut
            mapping[mod.LocalProtocolError] = self.unsendable
            mapping[mod.TransportError] = self.connection
        requests = sys.modules.get("requests")
        if requests is not None:
            exc = requests.exceptions
            mapping[exc.Timeout] = self.timeout
            mapping[exc.ChunkedEncodingError] = self.cut
            # JSONDecodeError is a RequestException too: not a connection failure.
            mapping[exc.InvalidJSONError] = self.bad_json
            mapping[exc.InvalidHeader] = self.unsendable
            mapping[exc.ConnectionError] = self.requests_connection_error
            mapping[exc.RequestException] = self.connection
        return mapping


def remember_secret_forms(value: str | None) -> None:
    """Remember a secret as written and as an exception would quote it (``repr`` of its str and its bytes)."""
    if not value:
        return
    E.remember_secret(value)
    for line in {value, value.strip(), *value.splitlines()}:
        E.remember_secret(repr(line)[1:-1])
        E.remember_secret(repr(line.encode("utf-8", "backslashreplace"))[2:-1])


def clean_text(text: str) -> str:
    """Text from an exception or a server, fit for an error line.

    Secrets masked, header values hidden, on one line, clipped.
    """
    line = bodies.one_line(E.scrub(str(text)))
    line = _HEADER_QUOTE.sub(r"\1 (not shown)", line)
    return bodies.clip(line, MAX_ERROR_TEXT)


def _not_json(doc: str) -> str:
    what = bodies.describe(doc)
    if what.startswith(("an HTML page", bodies.EMPTY)):
        return f"{what}, {bodies.NOT_API}"
    return f"data that is not JSON: {bodies.clip(what, 120)}"


def _mentions_reset(exc: BaseException) -> bool:
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in seen:
            continue
        seen.append(item)
        if isinstance(item, ConnectionResetError) or "Connection reset" in str(item) or \
                "Connection broken" in str(item):
            return True
        todo += [*item.args, item.__cause__, item.__context__]
    return False


def _read_head(response: Any) -> bytes:
    """Up to bodies.HEAD_BYTES of a response's body (an HTML page is read no further)."""
    head = b""
    try:
        for piece in response.iter_bytes():
            head += piece
            if len(head) >= bodies.HEAD_BYTES:
                break
    except Exception:  # a body that breaks off is still described by what came
        pass
    return head


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = clean_text(str(exc))
    if "Connection refused" in text or "ConnectError" in type(exc).__name__ and "refused" in text.lower():
        return "connection refused"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not text:
        text = clean_text(str(cause))
    if "refused" in text.lower():
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "host name not found: offline, or a typo in base_url?"
    return bodies.clip(text, 160)


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
    exceptions -> ours, on top of ``transport_mapping``), then ``_events()`` (the
    stream of one request as events; :meth:`stream` wraps it) and ``list_models()``.
    The client is held for the backend's lifetime: google-genai's closes its HTTP
    client when collected.
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

    def stream(self, request: Request) -> Iterator[Event]:
        """The answer as events; a 400 a reasoning model gives says which parameter to remove."""
        from .reasoning import explain

        try:
            yield from self._events(request)
        except E.BadRequestError as err:
            explain(err, request)
            raise

    def _events(self, request: Request) -> Iterator[Event]:
        raise NotImplementedError

    def make_client(self) -> Any:
        raise NotImplementedError

    def warm(self) -> None:
        """Make the SDK client now (if this backend has one), so the first request is not delayed by it."""
        if type(self).make_client is not SDKBackend.make_client:
            self.client()

    def mapping(self) -> dict[type[BaseException], Callable[[BaseException], E.ProviderError]]:
        return self.errors.transport_mapping()
