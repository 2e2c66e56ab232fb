"""The error hierarchy: exit codes, one-line messages, the exception mapper."""

from __future__ import annotations

import pytest

from llmcli import errors as E


def test_exit_codes_are_distinct():
    codes = {E.EXIT_OK, E.EXIT_PROVIDER, E.EXIT_USAGE, E.EXIT_PARTIAL, E.EXIT_INTERRUPTED, E.EXIT_BROKEN_PIPE}
    assert len(codes) == 6
    assert E.ConfigError("x").exit_code == E.InputError("x").exit_code == 2
    assert E.RateLimitError("x").exit_code == 1
    assert E.Interrupted("x").exit_code == 130


def test_provider_error_message_is_one_line_with_context():
    err = E.RateLimitError("slow\ndown  now", profile="groq", provider="Groq", status=429, retry_after=3)
    text = str(err)
    assert "\n" not in text
    assert text.startswith("Groq (profile 'groq'): rate limited: HTTP 429 slow down now (retry after 3 s)")


@pytest.mark.parametrize(
    "status, cls",
    [(401, E.AuthError), (403, E.AuthError), (404, E.NotFoundError), (408, E.ProviderTimeout), (400, E.BadRequestError),
     (422, E.BadRequestError), (429, E.RateLimitError), (500, E.ServerError), (529, E.ServerError), (None, E.ProviderError)],
)
def test_error_for_status(status, cls):
    assert E.error_for_status(status) is cls


def test_parse_retry_after():
    assert E.parse_retry_after("7") == 7.0
    assert E.parse_retry_after("0.5") == 0.5
    assert E.parse_retry_after(None) is None
    assert E.parse_retry_after("garbage") is None
    assert E.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


class Base(Exception):
    pass


class Child(Base):
    pass


def test_map_exceptions_picks_most_specific():
    mapping = {Base: lambda e: E.ServerError("base"), Child: lambda e: E.AuthError("child")}
    with pytest.raises(E.AuthError, match="child"):
        with E.map_exceptions(mapping):
            raise Child()
    with pytest.raises(E.ServerError, match="base"):
        with E.map_exceptions(mapping):
            raise Base()


def test_map_exceptions_lets_ours_and_unknown_through():
    with pytest.raises(E.ConfigError):
        with E.map_exceptions({Exception: lambda e: E.ServerError("no")}):
            raise E.ConfigError("mine")
    with pytest.raises(KeyError):
        with E.map_exceptions({Base: lambda e: E.ServerError("no")}):
            raise KeyError("k")
