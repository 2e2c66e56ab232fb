"""What every native provider (Anthropic, Gemini, Mistral, DashScope) must do the same way.

Each test runs once per provider, against that provider's loopback fake and
with its real SDK; only builders every fake offers alike are used
(``stream_reply(deltas, tail=...)``, ``make_server``, ``DEFAULT_DELTAS``).
What is particular to a provider (its wire format, its status and error
bodies, its SDK's quirks) stays in its own file, test_<provider>.py.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from llmcli import errors as E
from tests.conftest import ROOT, assert_one_line_error
from tests.fakes.server import Cut, Reply, Stall
from tests.providers.helpers import NATIVE, Native, closed_port_url


@pytest.fixture(scope="module", params=list(NATIVE))
def native(request) -> Native:
    return NATIVE[request.param]


@pytest.fixture(scope="module")
def _server(native):
    # One server per provider: pytest runs this module's tests grouped by provider.
    with native.fake.make_server() as server:
        yield server


def warm_up(native: Native, srv) -> None:
    """One good call, so that a timed call does not also time the SDK's first import."""
    list(native.backend(srv.url).stream(native.request))
    srv.requests.clear()


# -- backend level ------------------------------------------------------------------------


def test_sdk_is_not_imported_with_the_module(native):
    code = (f"import sys, llmcli.providers.{native.kind}; "
            f"print(sorted(m for m in sys.modules if m.startswith({native.sdk_modules!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_key_is_an_auth_error_without_a_request(native, srv, monkeypatch):
    # The SDK would take its own variable (or send no key at all): never used in place of the profile's.
    monkeypatch.setenv(native.key_var, "env-key")
    err, _ = native.failing(srv.url, api_key=None)
    assert type(err) is E.AuthError
    assert "no API key" in str(err) and native.key_var in str(err)
    assert "profile 'p'" in str(err)
    assert srv.requests == []


@pytest.mark.parametrize("stall", ["before the status line", "after the headers"])
def test_timeout_before_the_response(native, srv, stall):
    warm_up(native, srv)
    if stall == "before the status line":
        reply = native.fake.stream_reply()
        reply.delay = 3.0
    else:
        reply = Reply(200, dict(native.fake.stream_reply().headers), parts=[Stall(5)])
    srv.enqueue(reply)
    started = time.monotonic()
    err, seen = native.failing(srv.url, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert type(err) is E.ProviderTimeout
    assert "no answer within 0.5 s" in str(err) and "profile 'p'" in str(err)
    assert seen == []
    assert len(srv.requests) == 1  # no retry by the SDK


def test_stall_in_the_middle_of_the_stream_times_out(native, srv):
    # (Under DashScope's SDK, requests reports this one as a ConnectionError wrapping urllib3's ReadTimeoutError.)
    deltas = native.fake.DEFAULT_DELTAS[:2]
    warm_up(native, srv)
    srv.enqueue(native.fake.stream_reply(deltas, tail=[Stall(5)]))
    started = time.monotonic()
    err, seen = native.failing(srv.url, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert type(err) is E.ProviderTimeout
    assert "no answer within 0.5 s" in str(err) and "profile 'p'" in str(err)
    assert seen == deltas
    assert len(srv.requests) == 1


def test_connection_refused(native):
    url = closed_port_url()
    err, _ = native.failing(url)
    assert type(err) is E.ConnectError
    assert err.status is None
    assert "profile 'p'" in str(err) and url in str(err) and "refused" in str(err)


def test_connection_cut_mid_stream(native, srv):
    deltas = native.fake.DEFAULT_DELTAS[:2]
    srv.enqueue(native.fake.stream_reply(deltas, tail=[Cut()]))
    err, seen = native.failing(srv.url)
    assert type(err) is E.IncompleteAnswer
    assert "closed in the middle" in str(err) and "profile 'p'" in str(err)
    assert seen == deltas


def test_error_body_that_is_not_json(native, srv):
    srv.enqueue(Reply(502, {"Content-Type": "text/html"}, "<html>Bad Gateway</html>"))
    err, seen = native.failing(srv.url)
    assert type(err) is E.ServerError and err.status == 502
    assert "Bad Gateway" in str(err) and "profile 'p'" in str(err)
    assert seen == []


# -- CLI level ----------------------------------------------------------------------------


def test_cli_plain_text_to_a_pipe(native, srv, cli, config_file):
    config_file(native.profile_toml(srv.url, api_key="k", api_key_env=None))
    result = cli("-p", native.profile, "Rewrite this", input="some text")
    assert result.code == 0, result.stderr
    assert result.stdout == native.text + "\n"
    assert srv.last.headers[native.auth_header] == native.auth("k")


def test_cli_timeout_and_refused(native, srv, cli, config_file):
    config_file(native.profile_toml(srv.url, timeout=0.5))
    srv.enqueue(native.fake.stream_reply(tail=[Stall(5)]))
    result = cli("-p", native.profile, "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, f"profile '{native.profile}'", "timed out")

    url = closed_port_url()
    config_file(native.profile_toml(url))
    result = cli("-p", native.profile, "Rewrite this", input="x", env={"MY_TEST_KEY": "k"})
    assert result.code == 1
    assert_one_line_error(result.stderr, f"profile '{native.profile}'", "connection failed", url)


# DashScope's profile names its "qwen" alias here: the alias must reach the same key check.
WRITTEN_AS = {"dashscope": "qwen"}


def test_cli_missing_key_sends_nothing(native, srv, cli, config_file):
    config_file(native.profile_toml(srv.url, provider=WRITTEN_AS.get(native.kind, native.kind)))
    result = cli("-p", native.profile, "Rewrite this", input="x")  # MY_TEST_KEY is not set
    assert result.code != 0
    assert_one_line_error(result.stderr, f"profile '{native.profile}'", "MY_TEST_KEY")
    assert srv.requests == []
