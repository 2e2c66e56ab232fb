"""One exception hierarchy for everything llmcli reports to a user.

Every class knows its exit code; its ``str()`` is the one line printed on
stderr.  Lower layers (SDKs, the OS) raise their own exceptions; the backends
translate them with :func:`map_exceptions`, so the CLI only ever catches
:class:`LlmcliError`.

Exit codes (documented in the README):
  0 ok · 1 provider/network error · 2 usage, config or input error ·
  3 a batch finished with some files failed · 70 internal error · 130 interrupted ·
  141 stdout closed
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Mapping

EXIT_OK = 0
EXIT_PROVIDER = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERNAL = 70  # a bug in llmcli (EX_SOFTWARE)
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class LlmcliError(Exception):
    """Base of every error llmcli reports; ``str(err)`` is the user message."""

    exit_code = EXIT_PROVIDER


# Usage errors: the user can fix them by changing the command, a file or the config.


class UsageError(LlmcliError):
    """The command line asks for something impossible."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The config file or a profile is wrong; the message names the file/line or profile."""


class InputError(UsageError):
    """An input file or stdin cannot be used as text."""


# Provider errors: the request was sent (or tried) and the provider side failed.


class ProviderError(LlmcliError):
    """A provider call failed; carries what a user needs to act on it."""

    exit_code = EXIT_PROVIDER
    retryable = False
    kind = "error"
    hint = ""

    def __init__(
        self,
        message: str,
        *,
        profile: str | None = None,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.profile = profile
        self.provider = provider
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        if self.provider and self.profile:
            head = f"{self.provider} (profile '{self.profile}'): "
        elif self.provider or self.profile:
            head = f"{self.provider or 'profile ' + repr(self.profile)}: "
        else:
            head = ""
        status = f"HTTP {self.status} " if self.status else ""
        text = f"{head}{self.kind}: {status}{_one_line(self.message)}".rstrip()
        if self.retry_after:
            text += f" (retry after {self.retry_after:g} s)"
        if self.hint:
            text += f" — {self.hint}"
        return text


class AuthError(ProviderError):
    """401/403, or no key at all."""

    kind = "authentication failed"
    hint = "check the profile's API key (llmcli profiles)"


class RateLimitError(ProviderError):
    """429: too many requests or quota exhausted."""

    kind = "rate limited"
    retryable = True
    hint = "wait and retry, or raise 'retries' in the profile"


class NotFoundError(ProviderError):
    """404: usually an unknown model or a wrong base_url."""

    kind = "not found"
    hint = "check the model name (llmcli models) and the profile's base_url"


class BadRequestError(ProviderError):
    """400/422 and other 4xx: the provider refused the request as sent."""

    kind = "request rejected"


class ServerError(ProviderError):
    """5xx (including Anthropic's 529 overloaded): the provider failed."""

    kind = "server error"
    retryable = True
    hint = "the provider failed; try again later"


class TimeoutError(ProviderError):  # noqa: A001 - deliberately our own name
    """No response (or no next chunk) within the profile's timeout."""

    kind = "timed out"
    retryable = True
    hint = "raise --timeout or the profile's 'timeout'"


class ConnectionError(ProviderError):  # noqa: A001
    """The server could not be reached at all."""

    kind = "connection failed"
    retryable = True
    hint = "check the profile's base_url and that the server is running"


class StreamError(ProviderError):
    """The provider reported an error in the middle of a streamed answer."""

    kind = "error in stream"


class UnsupportedError(ProviderError):
    """The provider's API has no such feature (e.g. no model list endpoint)."""

    kind = "not supported"


# Batch, interruption and a vanished reader.


class PartialFailure(LlmcliError):
    """A batch finished but some items failed."""

    exit_code = EXIT_PARTIAL


class Interrupted(LlmcliError):
    """Ctrl-C."""

    exit_code = EXIT_INTERRUPTED


class StdoutClosed(LlmcliError):
    """The reader of stdout went away (``| head -1``): stop quietly, nothing to report."""

    exit_code = EXIT_BROKEN_PIPE


def error_for_status(status: int | None) -> type[ProviderError]:
    """The error class for an HTTP status, for SDKs that raise one generic class."""
    if status in (401, 403):
        return AuthError
    if status == 429:
        return RateLimitError
    if status == 404:
        return NotFoundError
    if status == 408:
        return TimeoutError
    if status is not None and status >= 500:
        return ServerError
    if status is not None and 400 <= status < 500:
        return BadRequestError
    return ProviderError


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After (or retry-after-ms) header value; None if absent/unparseable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime
        import datetime as _dt

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - _dt.datetime.now(when.tzinfo)).total_seconds()
    return max(0.0, seconds)


Translator = Callable[[BaseException], ProviderError]


@contextlib.contextmanager
def map_exceptions(mapping: Mapping[type[BaseException], Translator]) -> Iterator[None]:
    """Turn a lower layer's exceptions into ours, choosing the most specific match.

    ``mapping`` maps an exception class to a function building our error from
    it.  When several classes match (a subclass and its base), the one nearest
    in the raised exception's MRO wins, so the table can list them in any order.
    Our own errors and interrupts pass through untouched.
    """
    try:
        yield
    except (LlmcliError, KeyboardInterrupt, GeneratorExit):
        raise
    except Exception as exc:
        for klass in type(exc).__mro__:
            translate = mapping.get(klass)
            if translate is not None:
                raise translate(exc) from exc
        raise


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
