"""The Qwen / DashScope backend against a loopback fake speaking DashScope's native
text-generation API, with the real SDK (dashscope 2.0.2, its 1.x ``Generation.call`` API).

Two levels: the backend alone (``backend_for(Endpoint(...)).stream(...)``),
and the whole CLI with a config file pointing a profile at the fake.
"""

from __future__ import annotations

import io
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
from tests.fakes import dashscope_wire as D
from tests.fakes.server import Cut, Reply, Stall

REQUEST = Request(
    messages=(Message("user", "Rewrite this"),),
    model="qwen-test",
    system="be brief",
    temperature=0.3,
    max_tokens=123,
)
TEXT = "".join(D.DEFAULT_DELTAS)


@pytest.fixture(scope="module")
def _server():
    # One server per module: FakeServer.stop() waits out serve_forever's 0.5 s poll.
    with D.make_server() as server:
        yield server


@pytest.fixture
def srv(_server):
    _server.requests.clear()
    _server.replies.clear()
    yield _server
    _server.replies.clear()


def api(url: str) -> str:
    return url + "/api/v1"


def backend(url: str, *, timeout: float = 2.0, headers: dict | None = None, api_key: str | None = "k"):
    """A backend for the fake at ``url`` (the host root; the profile's base_url carries /api/v1)."""
    return backend_for(Endpoint(profile="p", kind="dashscope", base_url=api(url), api_key=api_key,
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


def sse_reply(parts) -> Reply:
    return Reply(200, dict(D.SSE_HEADERS), parts=list(parts))


# -- backend level: what is sent, what comes back -------------------------------------------


def test_request_wire_and_streamed_events(srv):
    events = list(backend(srv.url).stream(REQUEST))

    assert len(srv.requests) == 1
    sent = srv.last
    assert (sent.method, sent.path) == ("POST", D.PATH)
    assert sent.headers["authorization"] == "Bearer k"
    assert sent.headers["x-dashscope-sse"] == "enable"
    assert sent.headers["accept"] == "text/event-stream"
    body = sent.json
    assert body["model"] == "qwen-test"
    assert body["input"]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "Rewrite this"},
    ]
    params = body["parameters"]
    assert params["temperature"] == 0.3
    assert params["max_tokens"] == 123
    assert params["result_format"] == "message"
    assert params["incremental_output"] is True

    assert [e.text for e in events if isinstance(e, TextDelta)] == D.DEFAULT_DELTAS
    # output_tokens is cumulative on every event: the last one wins.
    assert events[-2:] == [Usage(6, 4, 10), Done("stop", "qwen-test")]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_deltas_not_cumulative_snapshots(srv):
    # The fake sends snapshots ("a", "ab", "abc") unless incremental_output is true;
    # the backend must ask for deltas and pass them through unmerged.
    events = list(backend(srv.url).stream(REQUEST))
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == D.DEFAULT_DELTAS
    assert "".join(texts) == TEXT
    # And the fake does tell the two apart:
    snapshot = D.stream_parts(["a", "b"], incremental=False)
    assert '"content": "ab"' in snapshot[1]


def test_unset_fields_are_omitted_and_the_kind_default_model_is_used(srv):
    list(backend(srv.url).stream(Request(messages=(Message("user", "hi"),))))
    body = srv.last.json
    assert body["model"] == "qwen-plus"
    assert body["input"]["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in body["parameters"] and "max_tokens" not in body["parameters"]


def test_profile_headers_are_sent(srv):
    list(backend(srv.url, headers={"X-Extra": "yes"}).stream(REQUEST))
    assert srv.last.headers["x-extra"] == "yes"
    assert srv.last.headers["authorization"] == "Bearer k"


def test_environment_globals_and_key_file_cannot_redirect_or_rekey_the_call(srv, monkeypatch, isolated_env):
    import dashscope

    # The SDK's own sources of a URL and a key: the module globals (set from
    # DASHSCOPE_* at import) and ~/.dashscope/api_key.
    monkeypatch.setattr(dashscope, "base_http_api_url", api(closed_port_url()))
    monkeypatch.setattr(dashscope, "api_key", "global-key")
    (isolated_env / ".dashscope").mkdir()
    (isolated_env / ".dashscope" / "api_key").write_text("file-key")
    events = list(backend(srv.url).stream(REQUEST))
    assert events[-1] == Done("stop", "qwen-test")
    assert srv.last.headers["authorization"] == "Bearer k"
    assert dashscope.base_http_api_url.startswith("http://127.0.0.1")  # not rewritten by the backend


def test_mainland_and_international_endpoints_are_configurable():
    from llmcli.providers import KINDS
    from llmcli.providers import dashscope as backend_module

    assert KINDS["dashscope"].base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert "https://dashscope.aliyuncs.com/api/v1" in backend_module.__doc__


def test_no_key_is_an_auth_error_without_a_request(srv):
    err, _ = failing(srv.url, api_key=None)
    assert isinstance(err, E.AuthError)
    assert "no API key" in str(err) and "DASHSCOPE_API_KEY" in str(err)
    assert "profile 'p'" in str(err)
    assert srv.requests == []


def test_list_models_is_unsupported(srv):
    with pytest.raises(E.UnsupportedError) as info:
        backend(srv.url).list_models()
    assert "no model list endpoint" in str(info.value)
    assert "https://help.aliyun.com/zh/model-studio/models" in str(info.value)
    assert srv.requests == []


def test_sdk_is_not_imported_with_the_module():
    code = "import sys, llmcli.providers.dashscope; print('dashscope' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "False False", out.stderr


# -- backend level: errors (items with status_code != 200, not exceptions, in the SDK) ----------


@pytest.mark.parametrize(
    "status, cls, code, message",
    [
        (401, E.AuthError, "InvalidApiKey", "Invalid API-key provided."),
        (403, E.AuthError, "AccessDenied", "Access denied."),
        (404, E.NotFoundError, "ModelNotFound", "Model not exist."),
        (400, E.BadRequestError, "InvalidParameter", "Range of max_tokens should be [1, 8192]"),
        (429, E.RateLimitError, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
        (500, E.ServerError, "InternalError", "An internal error has occured, please try again later."),
        (503, E.ServerError, "ServiceUnavailable", "The service is busy."),
    ],
)
def test_http_status_errors(srv, status, cls, code, message):
    srv.enqueue(D.error_reply(status, code, message))
    err, seen = failing(srv.url)
    assert type(err) is cls
    assert err.status == status
    assert f"{code}: {message}" in str(err)
    assert "profile 'p'" in str(err) and "DashScope" in str(err)
    assert seen == []
    assert len(srv.requests) == 1  # no SDK retries on status codes


def test_429_retry_after_header(srv):
    # dashscope 2.0.2 keeps the response headers on the error item, so Retry-After is usable.
    srv.enqueue(D.error_reply(429, "Throttling", "slow down", headers={"Retry-After": "7"}))
    err, _ = failing(srv.url)
    assert type(err) is E.RateLimitError
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)


def test_non_json_error_body(srv):
    srv.enqueue(Reply(502, {"Content-Type": "text/html"}, body="<html>Bad Gateway</html>"))
    err, _ = failing(srv.url)
    assert type(err) is E.ServerError and err.status == 502
    assert "Bad Gateway" in str(err)


def test_error_event_after_some_text_is_a_stream_error_keeping_its_status(srv):
    srv.enqueue(sse_reply(D.stream_parts(["你", "好"], incremental=True,
                                         tail=[D.stream_error_event(429, "Throttling", "slow down mid-answer")])))
    err, seen = failing(srv.url)
    assert type(err) is E.StreamError
    assert err.status == 429
    assert "Throttling: slow down mid-answer" in str(err) and "profile 'p'" in str(err)
    assert seen == ["你", "好"]


def test_error_event_before_any_text_is_mapped_by_status(srv):
    srv.enqueue(sse_reply([D.stream_error_event(429, "Throttling", "slow down")]))
    err, seen = failing(srv.url)
    assert type(err) is E.RateLimitError
    assert err.status == 429 and err.retryable
    assert "Throttling: slow down" in str(err)
    assert seen == []


def test_error_event_with_a_server_status(srv):
    srv.enqueue(sse_reply([D.stream_error_event(500, "InternalError", "model crashed")]))
    err, _ = failing(srv.url)
    assert type(err) is E.ServerError and err.status == 500
    assert "InternalError: model crashed" in str(err)


def test_timeout_before_the_response(srv):
    srv.enqueue(sse_reply([Stall(5)]))
    start = time.monotonic()
    err, _ = failing(srv.url, timeout=1.0)
    assert time.monotonic() - start < 3.0
    assert type(err) is E.TimeoutError
    assert "no answer within 1 s" in str(err) and "profile 'p'" in str(err)


def test_stall_in_the_middle_of_the_stream_times_out(srv):
    # requests reports this one as a ConnectionError wrapping urllib3's ReadTimeoutError.
    srv.enqueue(sse_reply(D.stream_parts(["你", "好"], incremental=True, tail=[Stall(5)])))
    start = time.monotonic()
    err, seen = failing(srv.url, timeout=1.0)
    assert time.monotonic() - start < 3.0
    assert type(err) is E.TimeoutError
    assert seen == ["你", "好"]


def test_connection_refused():
    url = closed_port_url()
    err, _ = failing(url)
    assert type(err) is E.ConnectionError
    assert url in str(err) and "refused" in str(err)
    assert "profile 'p'" in str(err)


def test_connection_cut_mid_stream(srv):
    srv.enqueue(sse_reply(D.stream_parts(["你"], incremental=True, tail=[Cut()])))
    err, seen = failing(srv.url)
    assert type(err) is E.StreamError
    assert "closed in the middle" in str(err) and "profile 'p'" in str(err)
    assert seen == ["你"]


def test_sdk_logging_does_not_leak(srv, capfd):
    # The SDK calls logger.exception("Request failed") on every failed request;
    # a root handler (as --debug logging would install) must not print it.
    # (Not caplog: pytest also attaches its handler to non-propagating loggers.)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        failing(closed_port_url())
        srv.enqueue(D.error_reply(500, "InternalError", "boom"))
        failing(srv.url)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
    assert "Request failed" not in buffer.getvalue()
    assert "Traceback" not in buffer.getvalue()
    assert capfd.readouterr().err == ""


# -- CLI level --------------------------------------------------------------------------


def profile_toml(url: str, **overrides) -> str:
    values = {
        "provider": "dashscope", "base_url": api(url), "api_key_env": "MY_TEST_KEY", "model": "qwen-test",
        "temperature": 0.4, "max_tokens": 321, "system": "You rewrite.", "timeout": 2, "retries": 0,
    }
    values.update(overrides)  # a None value drops the key
    lines = ["[profiles.qw]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def test_cli_json(srv, cli, config_file):
    config_file(profile_toml(srv.url))
    result = cli("-p", "qw", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "sk-test"})
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["text"] == TEXT
    assert (out["profile"], out["provider"], out["model"]) == ("qw", "dashscope", "qwen-test")
    assert out["usage"] == {"input_tokens": 6, "output_tokens": 4, "total_tokens": 10}
    assert isinstance(out["seconds"], (int, float))

    sent = srv.last
    assert (sent.method, sent.path) == ("POST", D.PATH)
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["x-dashscope-sse"] == "enable"
    body = sent.json
    params = body["parameters"]
    assert (body["model"], params["temperature"], params["max_tokens"]) == ("qwen-test", 0.4, 321)
    assert params["incremental_output"] is True
    messages = body["input"]["messages"]
    assert messages[0] == {"role": "system", "content": "You rewrite."}
    assert messages[1]["role"] == "user"
    assert "Rewrite this" in messages[1]["content"] and "some text" in messages[1]["content"]


def test_cli_plain_text_to_a_pipe(srv, cli, config_file):
    config_file(profile_toml(srv.url, api_key="k", api_key_env=None))
    result = cli("-p", "qw", "Rewrite this", input="some text")
    assert result.code == 0, result.stderr
    assert result.stdout == TEXT + "\n"
    assert srv.last.headers["authorization"] == "Bearer k"


@pytest.mark.parametrize(
    "reply, needles",
    [
        (D.error_reply(401, "InvalidApiKey", "Invalid API-key provided."),
         ["authentication failed", "HTTP 401", "InvalidApiKey: Invalid API-key provided."]),
        (D.error_reply(429, "Throttling", "Requests throttling triggered.", headers={"Retry-After": "30"}),
         ["rate limited", "HTTP 429", "Throttling: Requests throttling triggered.", "retry after 30 s"]),
        (D.error_reply(500, "InternalError", "internal boom"), ["server error", "HTTP 500", "internal boom"]),
        (D.error_reply(503, "ServiceUnavailable", "busy now"), ["HTTP 503", "busy now"]),
        (sse_reply(D.stream_parts(["你"], incremental=True, tail=[D.stream_error_event(429, "Throttling", "mid")])),
         ["error in stream", "HTTP 429", "Throttling: mid"]),
        (sse_reply(D.stream_parts(["你"], incremental=True, tail=[Cut()])), ["error in stream", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    config_file(profile_toml(srv.url))
    srv.enqueue(reply)
    result = cli("-p", "qw", "Rewrite this", input="some text", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'qw'", "DashScope", *needles)
    assert len(srv.requests) == 1  # retries = 0 in the profile, and none in the SDK


def test_cli_timeout_and_refused(srv, cli, config_file):
    config_file(profile_toml(srv.url, timeout=0.5))
    srv.enqueue(sse_reply([Stall(5)]))
    result = cli("-p", "qw", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'qw'", "timed out")

    url = closed_port_url()
    config_file(profile_toml(url))
    result = cli("-p", "qw", "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, "profile 'qw'", "connection failed", url)


def test_cli_qwen_alias_and_missing_key_sends_nothing(srv, cli, config_file):
    config_file(profile_toml(srv.url, provider="qwen"))  # MY_TEST_KEY is not set
    result = cli("-p", "qw", "Rewrite this", input="x")
    assert result.code != 0
    assert_one_line_error(result.stderr, "profile 'qw'", "MY_TEST_KEY")
    assert srv.requests == []


def test_subprocess_stderr_is_clean(srv, config_file):
    path = config_file(profile_toml(srv.url))
    proc = run_llmcli("-p", "qw", "Rewrite this", input="some text",
                      env={"LLMCLI_CONFIG": str(path), "MY_TEST_KEY": "k", "PYTHONWARNINGS": "always"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == TEXT + "\n"
    assert proc.stderr.decode() == ""
    assert srv.last.json["model"] == "qwen-test"
