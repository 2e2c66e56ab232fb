"""The Anthropic backend against a loopback fake speaking the Messages API, with the real SDK.

What is particular to it, at two levels: the backend alone and the whole CLI
(helpers.py drives both).  What every native provider does alike is in
test_native_common.py.
"""

from __future__ import annotations

import json
import warnings

import pytest

from llmcli import errors as E
from llmcli.providers.base import Done, Message, Request, TextDelta, Usage
from tests.fakes import anthropic_wire as A
from tests.fakes.server import Cut, Reply, sse
from tests.providers.helpers import ANTHROPIC, closed_port_url, server_fixture

P = ANTHROPIC
_server = server_fixture(A.make_server)


# -- backend level: what is sent, what comes back -------------------------------------------


def test_request_wire_and_streamed_events(srv):
    events = list(P.backend(srv.url).stream(P.request))

    assert len(srv.requests) == 1
    sent = srv.last
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["authorization"] == "Bearer k"
    assert sent.headers.get("anthropic-version")
    assert "x-api-key" not in sent.headers
    body = sent.json
    assert body["model"] == "claude-test"
    assert body["system"] == "be brief"
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 123
    assert body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "Rewrite this"}]

    assert [e.text for e in events if isinstance(e, TextDelta)] == A.DEFAULT_DELTAS
    # Order: all text, then one Usage, then one Done.
    assert events[-2:] == [Usage(5, 4, 9), Done("end_turn", "claude-fake", "complete")]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_defaults_always_send_max_tokens_and_omit_unset_fields(srv):
    from llmcli.providers.anthropic import DEFAULT_MAX_TOKENS

    list(P.backend(srv.url).stream(Request(messages=(Message("user", "hi"),), model="claude-test")))
    body = srv.last.json
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert "temperature" not in body
    assert "system" not in body


def test_conversation_roles_and_profile_headers_are_sent(srv):
    request = Request(messages=(Message("user", "a"), Message("assistant", "b"), Message("user", "c")), model="m")
    list(P.backend(srv.url, headers={"X-Extra": "yes"}).stream(request))
    assert srv.last.json["messages"] == [
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
    ]
    assert srv.last.headers["x-extra"] == "yes"


def test_output_tokens_come_from_the_last_message_delta(srv):
    parts = sse([
        A.message_start(input_tokens=11), A.block_start(), A.text_delta("a"),
        A.message_delta(2, None), A.text_delta("b"), A.block_stop(), A.message_delta(7, "max_tokens"),
    ])
    srv.enqueue(Reply(200, A.SSE_HEADERS, parts=parts))
    events = list(P.backend(srv.url).stream(P.request))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a", "b"]
    assert Usage(11, 7, 18) in events
    assert events[-1] == Done("max_tokens", "claude-fake", "truncated")


def test_environment_cannot_redirect_or_rekey_the_call(srv, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    events = list(P.backend(srv.url).stream(P.request))
    assert events[-1].model == "claude-fake"
    assert srv.last.headers["authorization"] == "Bearer k"


def test_deprecated_model_warning_is_swallowed(srv):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = list(P.backend(srv.url).stream(Request(messages=(Message("user", "hi"),), model="claude-sonnet-4-5")))
    assert srv.last.json["model"] == "claude-sonnet-4-5"
    assert isinstance(events[-1], Done)
    assert [str(w.message) for w in caught] == []


def test_list_models(srv):
    assert P.backend(srv.url).list_models() == ["claude-fake", "claude-other"]
    assert (srv.last.method, srv.last.path) == ("GET", "/v1/models")
    assert srv.last.headers["authorization"] == "Bearer k"


# -- backend level: errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status, cls, message",
    [
        (400, E.BadRequestError, "max_tokens: must be positive"),
        (401, E.AuthError, "invalid x-api-key"),
        (403, E.AuthError, "Your API key does not have permission"),
        (404, E.NotFoundError, "model: claude-nope"),
        (429, E.RateLimitError, "Number of request tokens has exceeded your rate limit"),
        (500, E.ServerError, "Internal server error"),
        (503, E.ServerError, "Service unavailable"),
        (529, E.ServerError, "Overloaded"),
    ],
)
def test_http_status_errors(srv, status, cls, message):
    P.assert_status_error(srv, A.error_reply(status, message), status, cls, message)


def test_529_says_overloaded_even_with_another_message(srv):
    srv.enqueue(A.error_reply(529, "try later"))
    err, _ = P.failing(srv.url)
    assert isinstance(err, E.ServerError) and err.status == 529
    assert "overloaded" in str(err).lower() and "try later" in str(err)
    assert err.retryable


def test_429_retry_after_header(srv):
    srv.enqueue(A.error_reply(429, "slow down", headers={"Retry-After": "7"}))
    err, _ = P.failing(srv.url)
    assert isinstance(err, E.RateLimitError)
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)
    assert len(srv.requests) == 1


def test_error_event_inside_the_stream(srv):
    srv.enqueue(A.stream_reply(["Hel"], tail=sse([A.stream_error_event("Overloaded")])))
    err, seen = P.failing(srv.url)
    assert type(err) is E.StreamError
    assert err.status is None  # the HTTP status was 200; the error came in the body
    assert "Overloaded" in str(err) and "profile 'p'" in str(err)
    assert seen == ["Hel"]


# -- CLI level --------------------------------------------------------------------------


def test_cli_json(srv, cli, config_file):
    config_file(P.profile_toml(srv.url))
    result = cli("-p", "claude", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "sk-test"})
    P.assert_json_answer(result, model="claude-fake", usage=(5, 4, 9))

    sent = srv.last
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.json
    assert (body["model"], body["system"], body["temperature"], body["max_tokens"]) == (
        "claude-test", "You rewrite.", 0.4, 321)
    content = body["messages"][0]["content"]
    assert "Rewrite this" in content and "some text" in content


def test_cli_builtin_profile_with_its_key_variable(srv, cli, config_file, monkeypatch):
    from llmcli.providers import KINDS

    config_file(f'[profiles.anthropic]\nbase_url = "{srv.url}"\n')
    monkeypatch.setenv("ANTHROPIC_API_KEY", "builtin-key")
    result = cli("-p", "anthropic", "--json", "Rewrite this", input="some text")
    assert result.code == 0, result.stderr
    assert srv.last.headers["authorization"] == "Bearer builtin-key"
    assert srv.last.json["model"] == KINDS["anthropic"].model
    assert json.loads(result.stdout)["provider"] == "anthropic"


@pytest.mark.parametrize(
    "reply, needles",
    [
        (A.error_reply(401, "invalid x-api-key"), ["authentication failed", "HTTP 401", "invalid x-api-key"]),
        (A.error_reply(429, "rate limit hit", headers={"Retry-After": "30"}),
         ["rate limited", "HTTP 429", "rate limit hit", "retry after 30 s"]),
        (A.error_reply(500, "Internal server error"), ["server error", "HTTP 500", "Internal server error"]),
        (A.error_reply(503, "unavailable now"), ["HTTP 503", "unavailable now"]),
        (A.error_reply(529, "Overloaded"), ["HTTP 529", "Overloaded"]),
        (A.stream_reply(["Hel"], tail=sse([A.stream_error_event("Overloaded")])), ["error in stream", "Overloaded"]),
        (A.stream_reply(["Hel"], tail=[Cut()]), ["incomplete answer", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "529", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    P.assert_cli_error(srv, cli, config_file, reply, *needles)


def test_cli_retries_a_429_once_then_succeeds(srv, cli, config_file):
    config_file(P.profile_toml(srv.url, retries=1))
    srv.enqueue(A.error_reply(429, "slow down", headers={"Retry-After": "0"}))
    result = cli("-p", "claude", "--json", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["text"] == P.text
    assert len(srv.requests) == 2
    assert "retry 1/1" in result.stderr


def test_subprocess_stderr_is_clean(srv, config_file):
    # A deprecated model and every warning enabled: the SDK's DeprecationWarning must still not show.
    sent = P.assert_clean_subprocess(srv, config_file, model="claude-sonnet-4-5")
    assert sent.json["model"] == "claude-sonnet-4-5"
