"""One exception hierarchy for everything llmcli reports to a user, and the exit code of each.

Every class knows its exit code; its ``str()`` is the one line printed on
stderr, with every secret llmcli holds masked (:func:`scrub`).  Lower layers
(SDKs, the OS) raise their own exceptions; the backends translate them with
:func:`map_exceptions`, so the CLI only ever catches :class:`LlmcliError`.

The tree (exit code in brackets)::

    LlmcliError
    ├── UsageError [2]              the command line asks for something impossible
    │   ├── ConfigError             the config file or a profile is wrong
    │   └── InputError              an input cannot be used as text
    ├── ProviderError [1]           a call failed on the provider's side (or on the way there)
    │   ├── AuthError               401/403
    │   ├── RateLimitError          429                                  (retryable)
    │   ├── NotFoundError           404: a model or a base_url
    │   ├── BadRequestError         400/422/other 4xx
    │   ├── ServerError             5xx, 529                             (retryable)
    │   ├── ProviderTimeout         no response, or no next chunk, in time (retryable)
    │   ├── ConnectError            the server could not be reached      (retryable unless refused)
    │   ├── StreamError             the provider reported an error mid-stream
    │   ├── BadResponse             the server sent something that is not its API's answer
    │   ├── UnsupportedError        the provider has no such feature
    │   └── AnswerError             a stream that ended, but not with a usable answer
    │       ├── IncompleteAnswer    the stream stopped before the answer's end (retryable)
    │       ├── TruncatedAnswer     cut at the token limit
    │       ├── FilteredAnswer      stopped by the provider's content filter
    │       └── EmptyAnswer         no text at all
    ├── OutputError [74]            the answer came but could not be written where it was asked to go
    ├── Interrupted [130]           Ctrl-C or SIGTERM
    └── StdoutClosed [141]          the reader of stdout went away (``| head -1``)

Exit codes (documented in the README): 0 ok · 1 provider/network error · 2 usage,
config or input error · 3 a batch finished with some files failed · 70 internal
error · 74 the answer could not be written · 130 interrupted · 141 stdout closed ·
143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping

EXIT_OK = 0
EXIT_PROVIDER = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERNAL = 70  # a bug in llmcli (EX_SOFTWARE)
EXIT_OUTPUT = 74  # the answer arrived but could not be written (EX_IOERR)
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # SIGTERM, as a shell reports 128 + 15
EXIT_BROKEN_PIPE = 141

MASK = "********"


class LlmcliError(Exception):
    """Base of every error llmcli reports; ``str(err)`` is the user message, secrets masked."""

    exit_code = EXIT_PROVIDER

    def __str__(self) -> str:
        return scrub(super().__str__())


# -- usage errors: the user can fix them by changing the command, a file or the config ---------------


class UsageError(LlmcliError):
    """The command line asks for something impossible."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The config file or a profile is wrong; the message names the file/line or profile."""


class InputError(UsageError):
    """An input file or stdin cannot be used as text."""


# -- provider errors: the request was sent (or tried) and the provider side failed -------------------


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
        text = f"{head}{self.kind}: {status}{one_line(self.message)}".rstrip()
        if self.retry_after:
            text += f" (retry after {self.retry_after:g} s)"
        if self.hint:
            text += f" — {self.hint}"
        return scrub(text)

    def short(self) -> str:
        """The error without its profile and hint: for a retry line under a spinner or progress bar."""
        what = f"HTTP {self.status} {self.message}" if self.status else self.message
        return scrub(f"{self.kind}: {one_line(what)[:120]}")


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


class ProviderTimeout(ProviderError):
    """No response (or no next chunk) within the profile's timeout."""

    kind = "timed out"
    retryable = True
    hint = "raise --timeout or the profile's 'timeout'"


class ConnectError(ProviderError):
    """The server could not be reached at all."""

    kind = "connection failed"
    retryable = True
    hint = "check the profile's base_url and that the server is running"


class StreamError(ProviderError):
    """The provider reported an error in the middle of a streamed answer."""

    kind = "error in stream"


class BadResponse(ProviderError):
    """The server answered, but not in its API's format (an HTML page, invalid JSON, not UTF-8)."""

    kind = "unexpected response"
    hint = "check the profile's base_url"


class UnsupportedError(ProviderError):
    """The provider's API has no such feature (e.g. no model list endpoint)."""

    kind = "not supported"


class AnswerError(ProviderError):
    """The stream ended, but what came is not an answer that may replace a text."""

    kind = "unusable answer"


class IncompleteAnswer(AnswerError):
    """The stream stopped before the provider said the answer was finished (a cut connection, a proxy)."""

    kind = "incomplete answer"
    retryable = True


class TruncatedAnswer(AnswerError):
    """The answer was cut at the token limit."""

    kind = "answer cut at the token limit"
    hint = "raise --max-tokens"


class FilteredAnswer(AnswerError):
    """The provider stopped the answer for its content policy."""

    kind = "answer stopped by the provider's content filter"


class EmptyAnswer(AnswerError):
    """The model returned no text."""

    kind = "empty answer"


# -- an answer with nowhere to go, interruption, a vanished reader ---------------------------------


class OutputError(LlmcliError):
    """The answer arrived but could not be written (a full disk, a read-only place); it was kept elsewhere."""

    exit_code = EXIT_OUTPUT



class Interrupted(LlmcliError):
    """Ctrl-C (or SIGTERM, whose exit code is 143)."""

    exit_code = EXIT_INTERRUPTED


class StdoutClosed(LlmcliError):
    """The reader of stdout went away (``| head -1``): stop quietly, nothing to report."""

    exit_code = EXIT_BROKEN_PIPE


def exit_code(exc: BaseException) -> int:
    """The process exit code for an exception that ended a command."""
    if isinstance(exc, LlmcliError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        return EXIT_BROKEN_PIPE
    return EXIT_INTERNAL


def error_for_status(status: int | None) -> type[ProviderError]:
    """The error class for an HTTP status, for SDKs that raise one generic class."""
    if status in (401, 403):
        return AuthError
    if status == 429:
        return RateLimitError
    if status == 404:
        return NotFoundError
    if status == 408:
        return ProviderTimeout
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
        import datetime as _dt
        from email.utils import parsedate_to_datetime

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


# -- secrets ----------------------------------------------------------------------------------------

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Mask ``value`` (a key, a header value) wherever an error text could repeat it.

    Its lines are remembered one by one too: a key pasted with a line break is
    quoted line by line in an HTTP stack's own messages.
    """
    if not value:
        return
    pieces = {value, value.strip(), *(line.strip() for line in value.splitlines())}
    with _SECRETS_LOCK:
        _SECRETS.update(p for p in pieces if len(p) >= 4)


def scrub(text: str) -> str:
    """``text`` with every remembered secret replaced by a mask (longest first, so none leaks in part)."""
    if not _SECRETS or not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def one_line(text: str) -> str:
    """Runs of whitespace (line breaks included) folded into one space."""
    return " ".join(str(text).split())
