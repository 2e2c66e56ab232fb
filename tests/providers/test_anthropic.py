"""The Anthropic backend against a loopback fake speaking the Messages API, with the real SDK.

Two levels: the backend alone (``backend_for(Endpoint(...)).stream(...)``),
and the whole CLI with a config file pointing a profile at the fake.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import warnings

import pytest

from llmcli import errors as E
from llmcli.providers import backend_for
from llmcli.providers.base import Done, Endpoint, Message, Request, TextDelta, Usage
from tests.conftest import ROOT, assert_one_line_error, run_llmcli
from tests.fakes import anthropic_wire as A
from tests.fakes.server import Cut, Reply, Stall, sse

REQUEST = Request(
    messages=(Message("user", "Rewrite this"),),
    model="claude-test",
    system="be brief",
    temperature=0.3,
    max_tokens=123,
)
TEXT = "".join(A.DEFAULT_DELTAS)


@pytest.fixture(scope="module")
def _server():
    # One server per module: FakeServer.stop() waits up to 0.5 s for serve_forever's poll.
    with A.make_server() as server:
        yield server


@pytest.fixture
def srv(_server):
    _server.replies.clear()
    _server.requests.clear()
    yield _server
    _server.replies.clear()


def backend(url: str, *, timeout: float = 2.0, headers: dict | None = None, api_key: str | None = "k"):
    return backend_for(Endpoint(profile="p", kind="anthropic", base_url=url, api_key=api_key,
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
    assert events[-2:] == [Usage(5, 4, 9), Done("end_turn", "claude-fake")]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_defaults_always_send_max_tokens_and_omit_unset_fields(srv):
    from llmcli.providers.anthropic import DEFAULT_MAX_TOKENS

    list(backend(srv.url).stream(Request(messages=(Message("user", "hi"),), model="claude-test")))
    body = srv.last.json
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert "temperature" not in body
    assert "system" not in body


def test_conversation_roles_and_profile_headers_are_sent(srv):
    request = Request(messages=(Message("user", "a"), Message("assistant", "b"), Message("user", "c")), model="m")
    list(backend(srv.url, headers={"X-Extra": "yes"}).stream(request))
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
    events = list(backend(srv.url).stream(REQUEST))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a", "b"]
    assert Usage(11, 7, 18) in events
    assert events[-1] == Done("max_tokens", "claude-fake")


def test_environment_cannot_redirect_or_rekey_the_call(srv, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    events = list(backend(srv.url).stream(REQUEST))
    assert events[-1].model == "claude-fake"
    assert srv.last.headers["authorization"] == "Bearer k"


def test_deprecated_model_warning_is_swallowed(srv):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = list(backend(srv.url).stream(Request(messages=(Message("user", "hi"),), model="claude-sonnet-4-5")))
    assert srv.last.json["model"] == "claude-sonnet-4-5"
    assert isinstance(events[-1], Done)
    assert [str(w.message) for w in caught] == []


def test_list_models(srv):
    assert backend(srv.url).list_models() == ["claude-fake", "claude-other"]
    assert (srv.last.method, srv.last.path) == ("GET", "/v1/models")
    assert srv.last.headers["authorization"] == "Bearer k"


def test_no_key_is_an_auth_error_without_a_request(srv):
    err, _ = failing(srv.url, api_key=None)
    assert isinstance(err, E.AuthError)
    assert "profile 'p'" in str(err)
    assert srv.requests == []


def test_sdk_is_not_imported_with_the_module():
    code = "import sys, llmcli.providers.anthropic; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False", out.stderr


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
    srv.enqueue(A.error_reply(status, message))
    err, seen = failing(srv.url)
    assert type(err) is cls
    assert err.status == status
    assert message in str(err)
    assert "profile 'p'" in str(err) and "Anthropic" in str(err)
    assert seen == []
    assert len(srv.requests) == 1  # the SDK's own retries are off


def test_529_says_overloaded_even_with_another_message(srv):
    srv.enqueue(A.error_reply(529, "try later"))
    err, _ = failing(srv.url)
    assert isinstance(err, E.ServerError) and err.status == 529
    assert "overloaded" in str(err).lower() and "try later" in str(err)
    assert err.retryable


def test_429_retry_after_header(srv):
    srv.enqueue(A.error_reply(429, "slow down", headers={"Retry-After": "7"}))
    err, _ = failing(srv.url)
    assert isinstance(err, E.RateLimitError)
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)
    assert len(srv.requests) == 1


def test_timeout_before_the_response(srv):
    reply = A.stream_reply()
    reply.delay = 3.0
    srv.enqueue(reply)
    started = time.monotonic()
    err, _ = failing(srv.url, timeout=0.5)
    assert isinstance(err, E.TimeoutError)
    assert "profile 'p'" in str(err) and "0.5 s" in str(err)
    assert time.monotonic() - started < 2.5


def test_stall_in_the_middle_of_the_stream_times_out(srv):
    srv.enqueue(A.stream_reply(["Hel", "lo"], tail=[Stall(5)]))
    started = time.monotonic()
    err, seen = failing(srv.url, timeout=0.5)
    assert isinstance(err, E.TimeoutError)
    assert seen == ["Hel", "lo"]
    assert time.monotonic() - started < 2.5


def test_connection_refused():
    url = closed_port_url()
    err, _ = failing(url)
    assert isinstance(err, E.ConnectionError)
    assert err.status is None
    assert "profile 'p'" in str(err) and url in str(err) and "refused" in str(err)


def test_connection_cut_mid_stream(srv):
    srv.enqueue(A.stream_reply(["Hel", "lo"], tail=[Cut()]))
    err, seen = failing(srv.url)
    assert isinstance(err, E.StreamError)
    assert seen == ["Hel", "lo"]
    assert "closed in the middle" in str(err) and "profile 'p'" in str(err)


def test_error_event_inside_the_stream(srv):
    srv.enqueue(A.stream_reply(["Hel"], tail=sse([A.stream_error_event("Overloaded")])))
    err, seen = failing(srv.url)
    assert type(err) is E.StreamError
    assert err.status is None  # the HTTP status was 200; the error came in the body
    assert "Overloaded" in str(err) and "profile 'p'" in str(err)
    assert seen == ["Hel"]


# -- CLI level --------------------------------------------------------------------------


def profile_toml(url: str, **overrides) -> str:
    values = {
        "provider": "anthropic", "base_url": url, "api_key_env": "MY_TEST_KEY", "model": "claude-test",
        "temperature": 0.4, "max_tokens": 321, "system": "You rewrite.", "timeout": 2, "retries": 0,
    }
    values.update(overrides)  # a None value drops the key
    lines = ["[profiles.claude]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def test_cli_json(srv, cli, config_file):
    config_file(profile_toml(srv.url))
    result = cli("-p", "claude", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "sk-test"})
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["text"] == TEXT
    assert (out["profile"], out["provider"], out["model"]) == ("claude", "anthropic", "claude-fake")
    assert out["usage"] == {"input_tokens": 5, "output_tokens": 4, "total_tokens": 9}
    assert isinstance(out["seconds"], (int, float))

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


def test_cli_plain_text_to_a_pipe(srv, cli, config_file):
    config_file(profile_toml(srv.url, api_key="k", api_key_env=None))
    result = cli("-p", "claude", "Rewrite this", input="some text")
    assert result.code == 0, result.stderr
    assert result.stdout == TEXT + "\n"
    assert srv.last.headers["authorization"] == "Bearer k"


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
        (A.stream_reply(["Hel"], tail=[Cut()]), ["error in stream", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "529", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    config_file(profile_toml(srv.url))
    srv.enqueue(reply)
    result = cli("-p", "claude", "Rewrite this", input="some text", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'claude'", "Anthropic", *needles)
    assert len(srv.requests) == 1  # retries = 0 in the profile, and none in the SDK


def test_cli_timeout_and_refused(srv, cli, config_file):
    config_file(profile_toml(srv.url, timeout=0.5))
    srv.enqueue(A.stream_reply(tail=[Stall(5)]))
    result = cli("-p", "claude", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'claude'", "timed out")

    url = closed_port_url()
    config_file(profile_toml(url))
    result = cli("-p", "claude", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'claude'", "connection failed", url)


def test_cli_retries_a_429_once_then_succeeds(srv, cli, config_file):
    config_file(profile_toml(srv.url, retries=1))
    srv.enqueue(A.error_reply(429, "slow down", headers={"Retry-After": "0"}))
    result = cli("-p", "claude", "--json", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["text"] == TEXT
    assert len(srv.requests) == 2
    assert "retry 1/1" in result.stderr


def test_subprocess_stderr_is_clean(srv, config_file):
    # A deprecated model and every warning enabled: the SDK's DeprecationWarning must still not show.
    path = config_file(profile_toml(srv.url, model="claude-sonnet-4-5"))
    proc = run_llmcli("-p", "claude", "Rewrite this", input="some text",
                      env={"LLMCLI_CONFIG": str(path), "MY_TEST_KEY": "k", "PYTHONWARNINGS": "always"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == TEXT + "\n"
    assert proc.stderr.decode() == ""
    assert srv.last.json["model"] == "claude-sonnet-4-5"
