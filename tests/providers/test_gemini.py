"""The Gemini backend against a loopback fake speaking the Gemini API, with the real google-genai SDK.

What is particular to it, at two levels: the backend alone and the whole CLI
(helpers.py drives both).  What every native provider does alike is in
test_native_common.py.
"""

from __future__ import annotations

import gc
import json
import logging

import pytest

from llmcli import errors as E
from llmcli.providers.base import Done, Message, ReasoningDelta, Request, TextDelta, Usage
from tests.fakes import gemini_wire as G
from tests.fakes.server import Cut, Reply, sse
from tests.providers.helpers import GEMINI, closed_port_url, server_fixture

P = GEMINI
STREAM_PATH = "/v1/models/gemini-test:streamGenerateContent"
_server = server_fixture(G.make_server)


# -- backend level: what is sent, what comes back -------------------------------------------


def test_request_wire_and_streamed_events(srv):
    events = list(P.backend(srv.url).stream(P.request))

    assert len(srv.requests) == 1
    sent = srv.last
    assert (sent.method, sent.path) == ("POST", STREAM_PATH)
    assert sent.query == {"alt": ["sse"]}
    assert sent.headers["x-goog-api-key"] == "k"
    assert "authorization" not in sent.headers
    body = sent.json
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Rewrite this"}]}]
    assert body["systemInstruction"]["parts"] == [{"text": "be brief"}]
    assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 123}
    assert "tools" not in body and "toolConfig" not in body

    assert [e.text for e in events if isinstance(e, TextDelta)] == G.DEFAULT_DELTAS
    assert events[-2:] == [Usage(5, 4, 9), Done("stop", "gemini-fake-001", "complete")]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_unset_parameters_are_not_sent(srv):
    list(P.backend(srv.url).stream(Request(messages=(Message("user", "hi"),), model="gemini-test")))
    body = srv.last.json
    assert "systemInstruction" not in body
    assert "temperature" not in body.get("generationConfig", {})
    assert "maxOutputTokens" not in body.get("generationConfig", {})


def test_assistant_turns_become_model_role_and_headers_are_sent(srv):
    request = Request(messages=(Message("user", "a"), Message("assistant", "b"), Message("user", "c")),
                      model="gemini-test")
    list(P.backend(srv.url, headers={"X-Extra": "yes"}).stream(request))
    assert [(c["role"], c["parts"][0]["text"]) for c in srv.last.json["contents"]] == [
        ("user", "a"), ("model", "b"), ("user", "c"),
    ]
    assert srv.last.headers["x-extra"] == "yes"
    assert srv.last.headers["x-goog-api-key"] == "k"


def test_thoughts_are_left_out_of_the_text_but_counted_as_output_and_reasoning(srv):
    thought = json.dumps({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "let me think", "thought": True}, {"text": "Answer"}]}}]})
    parts = sse(["data: " + thought,
                 G.chunk("!", finish="MAX_TOKENS", usage=G.usage(5, 4, thoughts=3))])
    srv.enqueue(Reply(200, G.SSE_HEADERS, parts=parts))
    events = list(P.backend(srv.url).stream(P.request))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Answer", "!"]
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["let me think"]
    assert Usage(5, 7, 12, reasoning_tokens=3) in events
    assert events[-1] == Done("max_tokens", "gemini-fake-001", "truncated")


def test_blocked_prompt_is_an_error_not_an_empty_answer(srv):
    blocked = json.dumps({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": G.usage(5, 0)})
    srv.enqueue(Reply(200, G.SSE_HEADERS, parts=sse(["data: " + blocked])))
    err, seen = P.failing(srv.url)
    assert type(err) is E.BadRequestError
    assert "blocked (SAFETY)" in str(err) and "profile 'p'" in str(err)
    assert seen == []


def test_environment_cannot_redirect_the_call(srv, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", closed_port_url())
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "v1beta")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GEMINI_API_KEY", "env-key")
    events = list(P.backend(srv.url).stream(P.request))
    assert isinstance(events[-1], Done)
    assert srv.last.path == STREAM_PATH
    assert srv.last.headers["x-goog-api-key"] == "k"


def test_sdk_log_records_do_not_reach_the_root_logger(srv, monkeypatch):
    # With both variables set the SDK logs a warning on every Client it builds.
    monkeypatch.setenv("GOOGLE_API_KEY", "a")
    monkeypatch.setenv("GEMINI_API_KEY", "b")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        list(P.backend(srv.url).stream(P.request))
    finally:
        root.removeHandler(handler)
    assert [r.getMessage() for r in records if r.name.startswith("google_genai")] == []


def test_client_survives_garbage_collection_between_calls(srv):
    b = P.backend(srv.url)
    list(b.stream(P.request))
    gc.collect()
    events = list(b.stream(P.request))
    assert [e.text for e in events if isinstance(e, TextDelta)] == G.DEFAULT_DELTAS
    assert len(srv.requests) == 2


def test_list_models_strips_the_prefix(srv):
    assert P.backend(srv.url).list_models() == ["gemini-fake-001", "gemini-other"]
    assert (srv.last.method, srv.last.path) == ("GET", "/v1/models")
    assert srv.last.headers["x-goog-api-key"] == "k"


# -- backend level: errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status, cls, message",
    [
        (400, E.BadRequestError, "API key not valid. Please pass a valid API key."),
        (401, E.AuthError, "Request had invalid authentication credentials."),
        (403, E.AuthError, "Method doesn't allow unregistered callers."),
        (404, E.NotFoundError, "models/gemini-nope is not found for API version v1"),
        (429, E.RateLimitError, "Resource has been exhausted (e.g. check quota)."),
        (500, E.ServerError, "An internal error has occurred."),
        (503, E.ServerError, "The model is overloaded. Please try again later."),
    ],
)
def test_http_status_errors(srv, status, cls, message):
    P.assert_status_error(srv, G.error_reply(status, message), status, cls, message)


def test_429_retry_after_header(srv):
    srv.enqueue(G.error_reply(429, "slow down", headers={"Retry-After": "7"}))
    err, _ = P.failing(srv.url)
    assert isinstance(err, E.RateLimitError)
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)


def test_429_retry_delay_from_the_error_details(srv):
    srv.enqueue(G.error_reply(429, "quota", details=[G.retry_info("37s")]))
    err, _ = P.failing(srv.url)
    assert isinstance(err, E.RateLimitError)
    assert err.retry_after == 37.0


@pytest.mark.parametrize("code", [500, 429])
def test_error_object_inside_the_stream(srv, code):
    srv.enqueue(G.stream_reply(["Hel"], tail=sse([G.stream_error_event("boom inside", code=code)])))
    err, seen = P.failing(srv.url)
    assert type(err) is E.StreamError
    assert err.status is None  # the HTTP status was 200; the error came in the body
    assert "boom inside" in str(err) and "profile 'p'" in str(err)
    assert seen == ["Hel"]


def test_unparseable_event_is_a_bad_response(srv):
    # The server's fault (not an error it reported): said in one line, never retried.
    srv.enqueue(Reply(200, G.SSE_HEADERS, parts=sse([G.chunk("Hel"), "data:{no space}"])))
    err, seen = P.failing(srv.url)
    assert type(err) is E.BadResponse and not err.retryable
    assert "profile 'p'" in str(err) and 'not JSON: "data:{no space}"' in str(err)
    assert seen == ["Hel"]


# -- CLI level --------------------------------------------------------------------------


def test_cli_json(srv, cli, config_file):
    config_file(P.profile_toml(srv.url))
    result = cli("-p", "gem", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "gk-test"})
    P.assert_json_answer(result, model="gemini-fake-001", usage=(5, 4, 9))

    sent = srv.last
    assert sent.path == STREAM_PATH
    assert sent.headers["x-goog-api-key"] == "gk-test"
    body = sent.json
    assert body["systemInstruction"]["parts"] == [{"text": "You rewrite."}]
    assert body["generationConfig"] == {"temperature": 0.4, "maxOutputTokens": 321}
    text = body["contents"][0]["parts"][0]["text"]
    assert "Rewrite this" in text and "some text" in text


def test_cli_builtin_profile_with_its_key_variable(srv, cli, config_file, monkeypatch):
    from llmcli.providers import KINDS

    config_file(f'[profiles.gemini]\nbase_url = "{srv.url}"\n')
    monkeypatch.setenv("GEMINI_API_KEY", "builtin-key")
    result = cli("-p", "gemini", "--json", "Rewrite this", input="some text")
    assert result.code == 0, result.stderr
    assert srv.last.headers["x-goog-api-key"] == "builtin-key"
    assert srv.last.path == f"/v1/models/{KINDS['gemini'].model}:streamGenerateContent"
    assert json.loads(result.stdout)["provider"] == "gemini"


@pytest.mark.parametrize(
    "reply, needles",
    [
        (G.error_reply(401, "invalid credentials"), ["authentication failed", "HTTP 401", "invalid credentials"]),
        (G.error_reply(429, "quota exhausted", headers={"Retry-After": "30"}),
         ["rate limited", "HTTP 429", "quota exhausted", "retry after 30 s"]),
        (G.error_reply(500, "internal oops"), ["server error", "HTTP 500", "internal oops"]),
        (G.error_reply(503, "overloaded now"), ["HTTP 503", "overloaded now"]),
        (G.stream_reply(["Hel"], tail=sse([G.stream_error_event("boom inside")])), ["error in stream", "boom inside"]),
        (G.stream_reply(["Hel"], tail=[Cut()]), ["incomplete answer", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    P.assert_cli_error(srv, cli, config_file, reply, *needles)


def test_cli_retries_a_503_once_then_succeeds(srv, cli, config_file):
    config_file(P.profile_toml(srv.url, retries=1))
    # The header (0 s) wins over the body's RetryInfo; 61 s would be past our retry cap and fail the run.
    srv.enqueue(G.error_reply(503, "busy", headers={"Retry-After": "0"}, details=[G.retry_info("61s")]))
    result = cli("-p", "gem", "--json", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["text"] == P.text
    assert len(srv.requests) == 2
    assert "retry 1/1" in result.stderr


def test_subprocess_stderr_is_clean(srv, config_file):
    # Both Google key variables set makes the SDK log a warning; with every warning
    # filter on, nothing from the SDK may still reach stderr.
    sent = P.assert_clean_subprocess(srv, config_file, env={"GOOGLE_API_KEY": "a", "GEMINI_API_KEY": "b"})
    assert sent.headers["x-goog-api-key"] == "k"
