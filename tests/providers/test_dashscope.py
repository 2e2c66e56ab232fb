"""The Qwen / DashScope backend against a loopback fake speaking DashScope's native
text-generation API, with the real SDK (dashscope 2.0.2, its 1.x ``Generation.call`` API).

What is particular to it, at two levels: the backend alone and the whole CLI
(helpers.py drives both).  What every native provider does alike is in
test_native_common.py.
"""

from __future__ import annotations

import io
import logging

import pytest

from llmcli import errors as E
from llmcli.providers.base import Done, Message, Request, TextDelta, Usage
from tests.fakes import dashscope_wire as D
from tests.fakes.server import Cut
from tests.providers.helpers import DASHSCOPE, closed_port_url, server_fixture

P = DASHSCOPE  # its backend and profile_toml take a server's root URL and add /api/v1
_server = server_fixture(D.make_server)


# -- backend level: what is sent, what comes back -------------------------------------------


def test_request_wire_and_streamed_events(srv):
    events = list(P.backend(srv.url).stream(P.request))

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
    assert events[-2:] == [Usage(6, 4, 10), Done("stop", "qwen-test", "complete")]
    assert all(isinstance(e, TextDelta) for e in events[:-2])


def test_deltas_not_cumulative_snapshots(srv):
    # The fake sends snapshots ("a", "ab", "abc") unless incremental_output is true;
    # the backend must ask for deltas and pass them through unmerged.
    events = list(P.backend(srv.url).stream(P.request))
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert texts == D.DEFAULT_DELTAS
    assert "".join(texts) == P.text
    # And the fake does tell the two apart:
    snapshot = D.stream_parts(["a", "b"], incremental=False)
    assert '"content": "ab"' in snapshot[1]


def test_unset_fields_are_omitted_and_the_kind_default_model_is_used(srv):
    list(P.backend(srv.url).stream(Request(messages=(Message("user", "hi"),))))
    body = srv.last.json
    assert body["model"] == "qwen-plus"
    assert body["input"]["messages"] == [{"role": "user", "content": "hi"}]
    assert "temperature" not in body["parameters"] and "max_tokens" not in body["parameters"]


def test_profile_headers_are_sent(srv):
    list(P.backend(srv.url, headers={"X-Extra": "yes"}).stream(P.request))
    assert srv.last.headers["x-extra"] == "yes"
    assert srv.last.headers["authorization"] == "Bearer k"


def test_environment_globals_and_key_file_cannot_redirect_or_rekey_the_call(srv, monkeypatch, isolated_env):
    import dashscope

    # The SDK's own sources of a URL and a key: the module globals (set from
    # DASHSCOPE_* at import) and ~/.dashscope/api_key.
    monkeypatch.setattr(dashscope, "base_http_api_url", P.base_url(closed_port_url()))
    monkeypatch.setattr(dashscope, "api_key", "global-key")
    (isolated_env / ".dashscope").mkdir()
    (isolated_env / ".dashscope" / "api_key").write_text("file-key")
    events = list(P.backend(srv.url).stream(P.request))
    assert events[-1] == Done("stop", "qwen-test", "complete")
    assert srv.last.headers["authorization"] == "Bearer k"
    assert dashscope.base_http_api_url.startswith("http://127.0.0.1")  # not rewritten by the backend


def test_mainland_and_international_endpoints_are_configurable():
    from llmcli.providers import KINDS
    from llmcli.providers import dashscope as backend_module

    assert KINDS["dashscope"].base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert "https://dashscope.aliyuncs.com/api/v1" in backend_module.__doc__


def test_list_models_is_unsupported(srv):
    with pytest.raises(E.UnsupportedError) as info:
        P.backend(srv.url).list_models()
    assert "no model list endpoint" in str(info.value)
    assert "https://help.aliyun.com/zh/model-studio/models" in str(info.value)
    assert srv.requests == []


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
    P.assert_status_error(srv, D.error_reply(status, code, message), status, cls, f"{code}: {message}")


def test_429_retry_after_header(srv):
    # dashscope 2.0.2 keeps the response headers on the error item, so Retry-After is usable.
    srv.enqueue(D.error_reply(429, "Throttling", "slow down", headers={"Retry-After": "7"}))
    err, _ = P.failing(srv.url)
    assert type(err) is E.RateLimitError
    assert err.retry_after == 7.0
    assert "retry after 7 s" in str(err)


def test_error_event_after_some_text_is_a_stream_error_keeping_its_status(srv):
    srv.enqueue(D.stream_reply(["你", "好"], tail=[D.stream_error_event(429, "Throttling", "slow down mid-answer")]))
    err, seen = P.failing(srv.url)
    assert type(err) is E.StreamError
    assert err.status == 429
    assert "Throttling: slow down mid-answer" in str(err) and "profile 'p'" in str(err)
    assert seen == ["你", "好"]


def test_error_event_before_any_text_is_mapped_by_status(srv):
    srv.enqueue(D.stream_reply([], tail=[D.stream_error_event(429, "Throttling", "slow down")]))
    err, seen = P.failing(srv.url)
    assert type(err) is E.RateLimitError
    assert err.status == 429 and err.retryable
    assert "Throttling: slow down" in str(err)
    assert seen == []


def test_error_event_with_a_server_status(srv):
    srv.enqueue(D.stream_reply([], tail=[D.stream_error_event(500, "InternalError", "model crashed")]))
    err, _ = P.failing(srv.url)
    assert type(err) is E.ServerError and err.status == 500
    assert "InternalError: model crashed" in str(err)


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
        P.failing(closed_port_url())
        srv.enqueue(D.error_reply(500, "InternalError", "boom"))
        P.failing(srv.url)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
    assert "Request failed" not in buffer.getvalue()
    assert "Traceback" not in buffer.getvalue()
    assert capfd.readouterr().err == ""


# -- CLI level --------------------------------------------------------------------------


def test_cli_json(srv, cli, config_file):
    config_file(P.profile_toml(srv.url))
    result = cli("-p", "qw", "--json", "Rewrite this", input="some text", env={"MY_TEST_KEY": "sk-test"})
    P.assert_json_answer(result, model="qwen-test", usage=(6, 4, 10))

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


@pytest.mark.parametrize(
    "reply, needles",
    [
        (D.error_reply(401, "InvalidApiKey", "Invalid API-key provided."),
         ["authentication failed", "HTTP 401", "InvalidApiKey: Invalid API-key provided."]),
        (D.error_reply(429, "Throttling", "Requests throttling triggered.", headers={"Retry-After": "30"}),
         ["rate limited", "HTTP 429", "Throttling: Requests throttling triggered.", "retry after 30 s"]),
        (D.error_reply(500, "InternalError", "internal boom"), ["server error", "HTTP 500", "internal boom"]),
        (D.error_reply(503, "ServiceUnavailable", "busy now"), ["HTTP 503", "busy now"]),
        (D.stream_reply(["你"], tail=[D.stream_error_event(429, "Throttling", "mid")]),
         ["error in stream", "HTTP 429", "Throttling: mid"]),
        (D.stream_reply(["你"], tail=[Cut()]), ["incomplete answer", "closed in the middle"]),
    ],
    ids=["401", "429", "500", "503", "in-stream", "cut"],
)
def test_cli_errors_are_one_line(srv, cli, config_file, reply, needles):
    P.assert_cli_error(srv, cli, config_file, reply, *needles)


def test_subprocess_stderr_is_clean(srv, config_file):
    sent = P.assert_clean_subprocess(srv, config_file)
    assert sent.json["model"] == "qwen-test"
