"""The Mistral backend against a loopback fake speaking Mistral's chat SSE, with the real SDK (mistralai 3.x).

Two levels: the backend alone (``backend_for(Endpoint(...)).stream(...)``),
and the whole CLI with a config file pointing a profile at the fake.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time

import pytest

from llmcli import errors as E
from llmcli.providers import backend_for
from llmcli.providers.base import Done, Endpoint, Message, Request, TextDelta, Usage
from tests.conftest import ROOT, assert_one_line_error, run_llmcli
from tests.fakes import mistral_wire as M
from tests.fakes.server import Cut, Reply, Stall, json_reply, sse

REQUEST = Request(
    messages=(Message("user", "Rewrite this"),),
    model="mistral-test",
    system="be brief",
    temperature=0.3,
    max_tokens=123,
)
TEXT = "".join(M.DEFAULT_DELTAS)


@pytest.fixture(scope="module")
def _server():
    # One server per module: FakeServer.stop() waits out serve_forever's 0.5 s poll.
    with M.make_server() as server:
        yield server


@pytest.fixture
def srv(_server):
    _server.requests.clear()
    _server.replies.clear()
    yield _server
    _server.replies.clear()


def backend(url: str, *, timeout: float = 2.0, headers: dict | None = None, api_key: str | None = "k"):
    return backend_for(Endpoint(profile="p", kind="mistral", base_url=url, api_key=api_key,
                                headers=headers or {}, timeout=timeout))


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def failing(url: str, request: Request = REQUEST, **kw):
    """Run a stream to its error; return (error, the text deltas seen before it)."""
    seen: list[str] = []
    with pytest.raises(E.ProviderError) as info:
        for event in backend(url, **kw).stream(request):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    return info.value, seen


# -- backend level: what is sent, what comes back -------------------------------------------


def test_request_wire_and_streamed_events(srv):
    events = list(backend(srv.url).stream(REQUEST))

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
    assert events[-2:] == [Usage(7, 4, 11), Done("stop", M.MODEL)]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_unset_fields_are_omitted_and_the_kind_default_model_is_used(srv):
    list(backend(srv.url).stream(Request(messages=(Message("user", "hi"),))))
    body = srv.last.json
    assert body["model"] == "mistral-small-latest"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in body and "max_tokens" not in body


def test_profile_headers_and_a_base_url_ending_in_v1(srv):
    list(backend(srv.url + "/v1/", headers={"X-Extra": "yes"}).stream(REQUEST))
    assert srv.last.path == "/v1/chat/completions"
    assert srv.last.headers["x-extra"] == "yes"
    assert srv.last.headers["authorization"] == "Bearer k"


def test_environment_cannot_rekey_the_call(srv, monkeypatch):
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    list(backend(srv.url).stream(REQUEST))
    assert srv.last.headers["authorization"] == "Bearer k"


def test_no_key_is_an_auth_error_without_a_request(srv, monkeypatch):
    # The SDK itself would send the request with no Authorization header (or the env key).
    monkeypatch.setenv("MISTRAL_API_KEY", "env-key")
    err, _ = failing(srv.url, api_key=None)
    assert isinstance(err, E.AuthError)
    assert "no API key" in str(err) and "MISTRAL_API_KEY" in str(err)
    assert "profile 'p'" in str(err)
    assert srv.requests == []
    with pytest.raises(E.AuthError):
        backend(srv.url, api_key="").list_models()
    assert srv.requests == []


def test_deprecated_model_header_does_not_break_the_stream(srv, capfd):
    # mistralai 3.7.0's own DeprecationWarningHook calls response.json() on the
    # streamed response (httpx2.ResponseNotRead) and logs on stderr; the backend swaps it.
    srv.enqueue(M.stream_reply(headers={"x-model-deprecation-timestamp": "2026-12-31T00:00:00Z"}))
    events = list(backend(srv.url).stream(REQUEST))
    assert [e.text for e in events if isinstance(e, TextDelta)] == M.DEFAULT_DELTAS
    assert events[-1] == Done("stop", M.MODEL)
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
    assert backend(srv.url).list_models() == ["mistral-large-latest", "mistral-small-latest"]
    assert (srv.last.method, srv.last.path) == ("GET", "/v1/models")
    assert srv.last.headers["authorization"] == "Bearer k"


def test_sdk_is_not_imported_with_the_module():
    code = "import sys, llmcli.providers.mistral; print(any(m.startswith('mistralai') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr


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
    srv.enqueue(M.error_reply(status, message))
    err, seen = failing(srv.url)
    assert type(err) is cls
    assert err.status == status
    assert message in str(err)
    assert "profile 'p'" in str(err) and "Mistral" in str(err)
    assert seen == []
    assert len(srv.requests) == 1  # the SDK does not retry by default


def test_422_validation_error(srv):
    detail = {"detail": [{"loc": ["body", "temperature"], "msg": "Input should be less than 1.5", "type": "x"}]}
    srv.enqueue(json_reply(detail, 422))
    err, _ = failing(srv.url)
    assert type(err) is E.BadRequestError
    assert err.status == 422
    assert "temperature: Input should be less than 1.5" in str(err)


def test_429_retry_after_header(srv):
    srv.enqueue(M.error_reply(429, "slow down", headers={"Retry-After": "7"}))
    err, _ = failing(srv.url)
    assert type(err) is E.RateLimitError
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)


def test_non_json_error_body(srv):
    srv.enqueue(Reply(502, {"Content-Type": "text/html"}, body="<html>Bad Gateway</html>"))
    err, _ = failing(srv.url)
    assert type(err) is E.ServerError and err.status == 502
    assert "Bad Gateway" in str(err)


def test_a_200_that_is_not_a_stream(srv):
    srv.enqueue(json_reply({"id": "x", "object": "chat.completion"}))
    err, _ = failing(srv.url)
    assert type(err) is E.ProviderError
    assert "unexpected response" in str(err) and "profile 'p'" in str(err)


def test_timeout_before_the_response(srv):
    srv.enqueue(Reply(200, {"Content-Type": "text/event-stream"}, parts=[Stall(5)]))
    start = time.monotonic()
    err, _ = failing(srv.url, timeout=1.0)
    assert time.monotonic() - start < 3.0
    assert type(err) is E.TimeoutError
    assert "no answer within 1 s" in str(err) and "profile 'p'" in str(err)


def test_stall_in_the_middle_of_the_stream_times_out(srv):
    srv.enqueue(M.stream_reply(["Bon", "jour"], tail=[Stall(5)]))
    start = time.monotonic()
    err, seen = failing(srv.url, timeout=1.0)
    assert time.monotonic() - start < 3.0
    assert type(err) is E.TimeoutError
    assert seen == ["Bon", "jour"]


def test_connection_refused():
    url = closed_port_url()
    err, _ = failing(url)
    assert type(err) is E.ConnectionError
    assert url in str(err) and "refused" in str(err)
    assert "profile 'p'" in str(err)


def test_connection_cut_mid_stream(srv):
    srv.enqueue(M.stream_reply(["Bon"], tail=[Cut()]))
    err, seen = failing(srv.url)
    assert type(err) is E.StreamError
    assert "closed in the middle" in str(err) and "profile 'p'" in str(err)
    assert seen == ["Bon"]


def test_error_event_inside_the_stream(srv):
    srv.enqueue(M.stream_reply(["Bon"], tail=sse([M.stream_error_event("Model overloaded mid-answer")])))
    err, seen = failing(srv.url)
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
        failing(srv.url)
        logging.getLogger("mistralai.client._hooks.deprecation_warning").warning("would print")
    finally:
        root.handlers[:] = saved
    assert capfd.readouterr().err == ""


# -- CLI level --------------------------------------------------------------------------


def profile_toml(url: str, **overrides) -> str:
    values = {
        "provider": "mistral", "base_url": url, "api_key_env": "MY_TEST_KEY", "model": "mistral-test",
        "temperature": 0.4, "max_tokens": 321, "system": "You rewrite.", "timeout": 2, "retries": 0,
    }
    values.update(overrides)  # a None value drops the key
    lines = ["[profiles.mis]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def test_cli_json(srv, cli, config_file):
    config_file(profile_toml(srv.url))
    result = cli("-p", "mis", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "sk-test"})
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["text"] == TEXT
    assert (out["profile"], out["provider"], out["model"]) == ("mis", "mistral", M.MODEL)
    assert out["usage"] == {"input_tokens": 7, "output_tokens": 4, "total_tokens": 11}
    assert isinstance(out["seconds"], (int, float))

    sent = srv.last
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    body = sent.json
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("mistral-test", 0.4, 321)
    assert body["messages"][0] == {"role": "system", "content": "You rewrite."}
    content = body["messages"][1]["content"]
    assert body["messages"][1]["role"] == "user"
    assert "Rewrite this" in content and "some text" in content


def test_cli_plain_text_to_a_pipe(srv, cli, config_file):
    config_file(profile_toml(srv.url, api_key="k", api_key_env=None))
    result = cli("-p", "mis", "Rewrite this", input="some text")
    assert result.code == 0, result.stderr
    assert result.stdout == TEXT + "\n"
    assert srv.last.headers["authorization"] == "Bearer k"


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
        (M.stream_reply(["Bon"], tail=[Cut()]), ["error in stream", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    config_file(profile_toml(srv.url))
    srv.enqueue(reply)
    result = cli("-p", "mis", "Rewrite this", input="some text", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'mis'", "Mistral", *needles)
    assert len(srv.requests) == 1  # retries = 0 in the profile, and none in the SDK


def test_cli_timeout_and_refused(srv, cli, config_file):
    config_file(profile_toml(srv.url, timeout=0.5))
    srv.enqueue(M.stream_reply(tail=[Stall(5)]))
    result = cli("-p", "mis", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'mis'", "timed out")

    url = closed_port_url()
    config_file(profile_toml(url))
    result = cli("-p", "mis", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'mis'", "connection failed", url)


def test_cli_missing_key_sends_nothing(srv, cli, config_file):
    config_file(profile_toml(srv.url))  # MY_TEST_KEY is not set
    result = cli("-p", "mis", "Rewrite this", input="x")
    assert result.code != 0
    assert_one_line_error(result.stderr, "profile 'mis'", "MY_TEST_KEY")
    assert srv.requests == []


def test_subprocess_stderr_is_clean(srv, config_file):
    path = config_file(profile_toml(srv.url))
    proc = run_llmcli("-p", "mis", "Rewrite this", input="some text",
                      env={"LLMCLI_CONFIG": str(path), "MY_TEST_KEY": "k", "PYTHONWARNINGS": "always"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == TEXT + "\n"
    assert proc.stderr.decode() == ""
    assert srv.last.json["model"] == "mistral-test"
