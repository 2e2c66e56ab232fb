"""The Mistral backend against a loopback fake speaking Mistral's chat SSE, with the real SDK (mistralai 3.x).

What is particular to it, at two levels: the backend alone and the whole CLI
(helpers.py drives both).  What every native provider does alike is in
test_native_common.py.
"""

from __future__ import annotations

import logging

import pytest

from llmcli import errors as E
from llmcli.providers.base import Done, Message, Request, TextDelta, Usage
from tests.fakes import mistral_wire as M
from tests.fakes.server import Cut, json_reply, sse
from tests.providers.helpers import MISTRAL, server_fixture

P = MISTRAL
_server = server_fixture(M.make_server)


# -- backend level: what is sent, what comes back -------------------------------------------


def test_request_wire_and_streamed_events(srv):
    events = list(P.backend(srv.url).stream(P.request))

    assert len(srv.requests) == 1
    sent = srv.last
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer k"
    assert sent.headers["accept"] == "text/event-stream"
    body = sent.json
    assert body["model"] == "mistral-test"
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "Rewrite this"},
    ]
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 123
    assert body["stream"] is True

    # The role-only opening chunk (content "") yields no TextDelta.
    assert [e.text for e in events if isinstance(e, TextDelta)] == M.DEFAULT_DELTAS
    assert events[-2:] == [Usage(7, 4, 11), Done("stop", M.MODEL, "complete")]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_unset_fields_are_omitted_and_the_kind_default_model_is_used(srv):
    list(P.backend(srv.url).stream(Request(messages=(Message("user", "hi"),))))
    body = srv.last.json
    assert body["model"] == "mistral-small-latest"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in body and "max_tokens" not in body


def test_profile_headers_and_a_base_url_ending_in_v1(srv):
    list(P.backend(srv.url + "/v1/", headers={"X-Extra": "yes"}).stream(P.request))
    assert srv.last.path == "/v1/chat/completions"
    assert srv.last.headers["x-extra"] == "yes"
    assert srv.last.headers["authorization"] == "Bearer k"


def test_environment_cannot_rekey_the_call(srv, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    list(P.backend(srv.url).stream(P.request))
    assert srv.last.headers["authorization"] == "Bearer k"


def test_no_key_lists_no_models_and_sends_nothing(srv, monkeypatch):
    # The SDK itself would send the request with no Authorization header (or the env key).
    # (A stream with no key: test_native_common.py.)
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    with pytest.raises(E.AuthError):
        P.backend(srv.url, api_key="").list_models()
    assert srv.requests == []


def test_deprecated_model_header_does_not_break_the_stream(srv, capfd):
    # mistralai 3.7.0's own DeprecationWarningHook calls response.json() on the
    # streamed response (httpx2.ResponseNotRead) and logs on stderr; the backend swaps it.
    srv.enqueue(M.stream_reply(headers={"x-model-deprecation-timestamp": "2026-12-31T00:00:00Z"}))
    events = list(P.backend(srv.url).stream(P.request))
    assert [e.text for e in events if isinstance(e, TextDelta)] == M.DEFAULT_DELTAS
    assert events[-1] == Done("stop", M.MODEL, "complete")
    assert capfd.readouterr().err == ""


def test_reasoning_chunks_yield_only_the_text():
    from llmcli.providers.mistral import _text

    class Piece:
        def __init__(self, type_, text=None):
            self.type, self.text = type_, text

    assert _text([Piece("thinking"), Piece("text", "A"), Piece("text", "B")]) == "AB"
    assert _text("plain") == "plain"
    assert _text(None) == ""


def test_list_models(srv):
    assert P.backend(srv.url).list_models() == ["mistral-large-latest", "mistral-small-latest"]
    assert (srv.last.method, srv.last.path) == ("GET", "/v1/models")
    assert srv.last.headers["authorization"] == "Bearer k"


# -- backend level: errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status, cls, message",
    [
        (401, E.AuthError, "Unauthorized"),
        (403, E.AuthError, "Forbidden for this key"),
        (404, E.NotFoundError, "Invalid model: mistral-nope"),
        (400, E.BadRequestError, "Invalid request body"),
        (429, E.RateLimitError, "Requests rate limit exceeded"),
        (500, E.ServerError, "Internal server error"),
        (503, E.ServerError, "Service unavailable, try later"),
    ],
)
def test_http_status_errors(srv, status, cls, message):
    P.assert_status_error(srv, M.error_reply(status, message), status, cls, message)


def test_422_validation_error(srv):
    detail = {"detail": [{"loc": ["body", "temperature"], "msg": "Input should be less than 1.5", "type": "x"}]}
    srv.enqueue(json_reply(detail, 422))
    err, _ = P.failing(srv.url)
    assert type(err) is E.BadRequestError
    assert err.status == 422
    assert "temperature: Input should be less than 1.5" in str(err)


def test_429_retry_after_header(srv):
    srv.enqueue(M.error_reply(429, "slow down", headers={"Retry-After": "7"}))
    err, _ = P.failing(srv.url)
    assert type(err) is E.RateLimitError
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)


def test_a_200_that_is_not_a_stream(srv):
    srv.enqueue(json_reply({"id": "x", "object": "chat.completion"}))
    err, _ = P.failing(srv.url)
    assert type(err) is E.BadResponse and not err.retryable
    assert "unexpected response" in str(err) and "profile 'p'" in str(err)
    assert "(application/json) where a stream was expected" in str(err)


def test_error_event_inside_the_stream(srv):
    srv.enqueue(M.stream_reply(["Bon"], tail=sse([M.stream_error_event("Model overloaded mid-answer")])))
    err, seen = P.failing(srv.url)
    assert type(err) is E.StreamError
    assert err.status is None  # the HTTP status was 200; the error came in the body
    assert "Model overloaded mid-answer" in str(err) and "profile 'p'" in str(err)
    assert seen == ["Bon"]


def test_sdk_logs_do_not_reach_stderr(srv, capfd):
    # With no handler anywhere, a logger.warning() would go to Python's last-resort stderr handler.
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        srv.enqueue(M.error_reply(500, "boom"))
        P.failing(srv.url)
        logging.getLogger("mistralai.client._hooks.deprecation_warning").warning("would print")
    finally:
        root.handlers[:] = saved
    assert capfd.readouterr().err == ""


# -- CLI level --------------------------------------------------------------------------


def test_cli_json(srv, cli, config_file):
    config_file(P.profile_toml(srv.url))
    result = cli("-p", "mis", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "sk-test"})
    P.assert_json_answer(result, model=M.MODEL, usage=(7, 4, 11))

    sent = srv.last
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.json
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("mistral-test", 0.4, 321)
    assert body["messages"][0] == {"role": "system", "content": "You rewrite."}
    content = body["messages"][1]["content"]
    assert body["messages"][1]["role"] == "user"
    assert "Rewrite this" in content and "some text" in content


@pytest.mark.parametrize(
    "reply, needles",
    [
        (M.error_reply(401, "Unauthorized"), ["authentication failed", "HTTP 401", "Unauthorized"]),
        (M.error_reply(429, "Requests rate limit exceeded", headers={"Retry-After": "30"}),
         ["rate limited", "HTTP 429", "Requests rate limit exceeded", "retry after 30 s"]),
        (M.error_reply(500, "Internal server error"), ["server error", "HTTP 500", "Internal server error"]),
        (M.error_reply(503, "unavailable now"), ["HTTP 503", "unavailable now"]),
        (M.stream_reply(["Bon"], tail=sse([M.stream_error_event("overloaded mid-answer")])),
         ["error in stream", "overloaded mid-answer"]),
        (M.stream_reply(["Bon"], tail=[Cut()]), ["incomplete answer", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    P.assert_cli_error(srv, cli, config_file, reply, *needles)


def test_subprocess_stderr_is_clean(srv, config_file):
    sent = P.assert_clean_subprocess(srv, config_file)
    assert sent.json["model"] == "mistral-test"
