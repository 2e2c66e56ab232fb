"""A server that misbehaves is the provider's fault, said in one line: for all five SDK stacks.

Each test runs once per stack (openai for the six OpenAI-compatible kinds, anthropic,
google-genai, mistralai, dashscope on requests), with the real SDK against its loopback
fake scripted by ``tests.fakes.misbehaving``: an HTML page or an empty body where an
answer belongs, an event that is not JSON or not UTF-8, a stream that ends early but
cleanly, a connection reset mid-answer.  None of them may be an internal error (exit
70), a success, or a page pasted into the error; the ones a retry cannot fix are not
retryable.
"""

from __future__ import annotations

import json
import time

import pytest

from llmcli import errors as E
from llmcli.providers.base import INCOMPLETE, Done, TextDelta
from tests.conftest import assert_one_line_error
from tests.fakes import misbehaving as M
from tests.fakes import openai_wire
from tests.fakes.server import Reply
from tests.providers.helpers import NATIVE, Native

OPENAI = Native("openai-compatible", "OpenAI-compatible", openai_wire, "fake-model", "oc", "OPENAI_API_KEY",
                ("openai",), api_path="/v1")
STACKS: dict[str, Native] = {"openai": OPENAI, **NATIVE}


@pytest.fixture(scope="module", params=list(STACKS))
def stack(request) -> Native:
    return STACKS[request.param]


@pytest.fixture(scope="module")
def _server(stack):
    with stack.fake.make_server() as server:
        yield server


def events(stack: Native, url: str) -> list:
    return list(stack.backend(url).stream(stack.request))


def assert_short_bad_response(err: E.ProviderError, stack: Native, *needles: str) -> None:
    text = str(err)
    assert type(err) is E.BadResponse and not err.retryable, text
    assert "profile 'p'" in text and stack.label in text
    assert "\n" not in text and len(text) < 300, text
    for needle in needles:
        assert needle in text, text


# -- the stream ends, but not as an answer ------------------------------------------------


def test_clean_early_end_is_incomplete(stack, srv):
    deltas = stack.fake.DEFAULT_DELTAS[:2]
    srv.enqueue(M.clean_early_end(stack.fake, deltas))
    seen = events(stack, srv.url)
    assert [e.text for e in seen if isinstance(e, TextDelta)] == deltas
    done = seen[-1]
    assert isinstance(done, Done)
    assert done.ending == INCOMPLETE and done.finish_reason is None  # no backend invents a finish reason


def test_connection_reset_mid_answer_is_an_incomplete_answer(stack, srv):
    deltas = stack.fake.DEFAULT_DELTAS[:2]
    srv.enqueue(M.connection_reset(stack.fake, deltas))
    err, seen = stack.failing(srv.url)
    assert type(err) is E.IncompleteAnswer and err.retryable, str(err)
    assert "closed in the middle" in str(err)
    assert "".join(deltas).startswith("".join(seen))  # what came before the reset, never more


def test_event_that_is_not_json(stack, srv):
    srv.enqueue(M.invalid_json_event(stack.fake))
    err, seen = stack.failing(srv.url)
    assert_short_bad_response(err, stack, 'not JSON: "{not json"')
    assert seen == stack.fake.DEFAULT_DELTAS[:2]


# google-genai decodes every line with errors="replace": the bytes never reach llmcli.
_LENIENT_UTF8 = {"gemini"}


def test_bytes_that_are_not_utf8(stack, srv):
    srv.enqueue(M.non_utf8_event(stack.fake))
    if stack.kind in _LENIENT_UTF8:
        text = "".join(e.text for e in events(stack, srv.url) if isinstance(e, TextDelta))
        assert "\ufffd" in text  # the SDK's replacement: no error, and no internal error either
        return
    err, _ = stack.failing(srv.url)
    assert_short_bad_response(err, stack, "not UTF-8 (byte 0xff)")


def test_slow_answer_comes_whole_and_in_pieces(stack, srv):
    # The fake the race tests use (an edit during a request, Ctrl-C mid-answer): slow, but a good answer.
    srv.enqueue(M.slow_answer(stack.fake, pause=0.1))
    started = time.monotonic()
    seen = events(stack, srv.url)
    assert time.monotonic() - started >= 0.3  # three pauses between four pieces (a lower bound holds under load)
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == stack.text
    assert seen[-1].ending == "complete"


# -- a body that is not the API's ---------------------------------------------------------


def test_html_page_with_200(stack, srv):
    srv.enqueue(M.html_page(200))
    err, seen = stack.failing(srv.url)
    assert_short_bad_response(err, stack, f'an HTML page ("{M.NGINX_TITLE}"), not an API response', "base_url")
    assert "lorem" not in str(err) and "<" not in str(err)
    assert seen == [] and len(srv.requests) == 1


def test_empty_body_with_200(stack, srv):
    srv.enqueue(M.empty_body(200))
    err, seen = stack.failing(srv.url)
    assert_short_bad_response(err, stack, "an empty body, not an API response")
    assert seen == []


def test_html_501_is_summarised_and_never_retried(stack, srv):
    srv.enqueue(M.html_page(501, title="501 Not Implemented"))
    err, _ = stack.failing(srv.url)
    text = str(err)
    assert err.status == 501 and not err.retryable, text
    assert 'HTTP 501 an HTML page ("501 Not Implemented"), not an API response' in text
    assert "base_url" in text and "lorem" not in text and len(text) < 300


def test_html_gateway_page_stays_retryable(stack, srv):
    # A proxy's 502 for an upstream that is restarting: a retry may well succeed.
    srv.enqueue(M.html_page(502, title="502 Bad Gateway"))
    err, _ = stack.failing(srv.url)
    assert type(err) is E.ServerError and err.retryable and err.status == 502
    assert 'an HTML page ("502 Bad Gateway")' in str(err) and "lorem" not in str(err)


def test_html_page_without_a_title_longer_than_a_line(stack, srv):
    srv.enqueue(Reply(503, {"Content-Type": "text/html"}, "<html><body>" + "<p>down</p>" * 200 + "</body></html>"))
    err, _ = stack.failing(srv.url)
    assert err.status == 503
    assert "an HTML page, not an API response" in str(err) and "down down" not in str(err)


def test_provider_message_is_clipped(stack, srv):
    long = "word " * 2000
    body = {"error": {"message": long, "type": "invalid_request_error", "code": 400, "status": "INVALID_ARGUMENT"},
            "message": long, "code": "InvalidParameter", "object": "error"}
    srv.enqueue(Reply(400, {"Content-Type": "application/json"}, json.dumps(body)))
    err, _ = stack.failing(srv.url)
    assert err.status == 400
    assert len(err.message) <= 200 and err.message.endswith("…")
    assert len(str(err)) < 400


# -- secrets ------------------------------------------------------------------------------


def test_a_key_quoted_by_the_server_is_masked(stack, srv):
    key = "sk-quoted-secret-4711"
    body = {"error": {"message": f"invalid key {key}", "type": "authentication_error", "code": 401,
                      "status": "UNAUTHENTICATED"},
            "message": f"invalid key {key}", "code": "InvalidApiKey", "object": "error"}
    srv.enqueue(Reply(401, {"Content-Type": "application/json"}, json.dumps(body)))
    err, _ = stack.failing(srv.url, api_key=key)
    assert type(err) is E.AuthError
    assert key not in str(err) and key not in err.message and key not in err.short()
    assert "invalid key ********" in str(err)


def test_a_secret_profile_header_quoted_by_the_server_is_masked(stack, srv):
    token = "hdr-token-secret-5150"
    body = {"error": {"message": f"bad token {token}", "code": 400, "status": "INVALID_ARGUMENT"},
            "message": f"bad token {token}", "code": "InvalidParameter", "object": "error"}
    srv.enqueue(Reply(400, {"Content-Type": "application/json"}, json.dumps(body)))
    err, _ = stack.failing(srv.url, headers={"X-Gateway-Token": token, "X-Title": "llmcli tests"})
    assert token not in str(err) and "bad token ********" in str(err)
    assert srv.last.headers["x-gateway-token"] == token  # sent as configured
    assert E.scrub("llmcli tests") == "llmcli tests"  # a header that is no secret is not remembered as one


def test_a_key_with_a_line_break_is_never_quoted(stack, srv):
    # httpx/requests refuse the header and quote it in their exception ("Illegal header value b'Bearer sk-…'").
    key = "sk-first-line-0815\nsecond-line-4242"
    err, _ = stack.failing(srv.url, api_key=key)
    text = " ".join((str(err), err.message, err.short()))
    assert "first-line" not in text and "second-line" not in text
    assert "header value is not valid in HTTP" in str(err) and not err.retryable
    assert srv.requests == []  # never sent


# -- through the CLI (the OpenAI-compatible stack) -----------------------------------------


@pytest.mark.parametrize("reply, needle", [
    (M.html_page(200), f'an HTML page ("{M.NGINX_TITLE}"), not an API response'),
    (M.empty_body(200), "an empty body, not an API response"),
    (M.html_page(501, title="501 Not Implemented"), "HTTP 501 an HTML page"),
    (M.invalid_json_event(openai_wire), 'not JSON: "{not json"'),
    (M.non_utf8_event(openai_wire), "not UTF-8"),
])
def test_cli_malformed_server_is_exit_1_in_one_line_without_retries(cli, config_file, openai_server, reply, needle):
    config_file(OPENAI.profile_toml(openai_server.url, retries=2))
    openai_server.enqueue(reply)
    result = cli("-p", OPENAI.profile, "Rewrite this", input="some text", env={"MY_TEST_KEY": "k"})
    assert result.code == 1, result.stderr
    assert_one_line_error(result.stderr, f"profile '{OPENAI.profile}'", needle)
    assert "lorem" not in result.stderr and "internal error" not in result.stderr
    assert len(openai_server.requests) == 1  # never retried
