"""Our retry policy: retryable errors before the first word, Retry-After honoured and capped."""

from __future__ import annotations

import pytest

from llmcli import errors as E
from llmcli.providers.base import Done, TextDelta
from llmcli.retry import MAX_RETRY_AFTER, backoff, stream_with_retries


def scripted(*outcomes):
    """open_stream() that fails or yields per call, recording calls."""
    calls = []

    def open_stream():
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, Exception):
            raise outcome
        yield from outcome

    return open_stream, calls


def test_retries_retryable_errors_then_succeeds():
    sleeps = []
    open_stream, calls = scripted(E.ServerError("x"), E.RateLimitError("y", retry_after=2.5), [TextDelta("ok"), Done()])
    events = list(stream_with_retries(open_stream, 2, sleep=sleeps.append))
    assert events == [TextDelta("ok"), Done()]
    assert len(calls) == 3
    assert 0.75 <= sleeps[0] <= 1.25 and sleeps[1] == 2.5


def test_gives_up_after_retries():
    open_stream, calls = scripted(E.ProviderTimeout("a"), E.ProviderTimeout("b"))
    with pytest.raises(E.ProviderTimeout, match="b"):
        list(stream_with_retries(open_stream, 1, sleep=lambda s: None))
    assert len(calls) == 2


def test_non_retryable_is_raised_at_once():
    open_stream, calls = scripted(E.AuthError("no"), [Done()])
    with pytest.raises(E.AuthError):
        list(stream_with_retries(open_stream, 3, sleep=lambda s: None))
    assert len(calls) == 1


def test_no_retry_once_text_was_yielded():
    def open_stream():
        yield TextDelta("partial")
        raise E.ServerError("cut")

    seen = []
    with pytest.raises(E.ServerError):
        for event in stream_with_retries(open_stream, 3, sleep=lambda s: None):
            seen.append(event)
    assert seen == [TextDelta("partial")]


def test_long_retry_after_is_not_slept():
    sleeps = []
    open_stream, calls = scripted(E.RateLimitError("q", retry_after=MAX_RETRY_AFTER + 1), [Done()])
    with pytest.raises(E.RateLimitError):
        list(stream_with_retries(open_stream, 3, sleep=sleeps.append))
    assert sleeps == [] and len(calls) == 1


def test_backoff_grows_and_is_capped():
    assert backoff(1) < backoff(3) * 1.25
    assert all(backoff(n) <= 25 for n in range(1, 12))
