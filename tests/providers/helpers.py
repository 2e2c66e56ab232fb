"""What the native-provider tests share: one description of each provider and the ways to drive it.

Each provider is a :class:`Native`: its Endpoint kind, how its errors name it,
its loopback fake (``tests.fakes.<wire>``) and the names its tests use.  Its
methods build the backend (``backend_for(Endpoint(...))``), run a stream to its
error, write a CLI profile for the fake and make the checks every provider's
tests make the same way.  The fixtures (``srv``) are in ``conftest.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType

import pytest

from llmcli import errors as E
from llmcli.providers import backend_for
from llmcli.providers.base import Endpoint, Message, Request, TextDelta
from tests.conftest import assert_one_line_error, closed_port, run_llmcli
from tests.fakes import anthropic_wire, dashscope_wire, gemini_wire, mistral_wire


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{closed_port()}"


def server_fixture(make_server):
    """A module-scoped ``_server`` fixture serving ``make_server()``; tests ask for ``srv`` (conftest.py).

    Use as ``_server = server_fixture(wire.make_server)`` in a test module.  One
    server per module: FakeServer.stop() waits for serve_forever's poll.
    """

    @pytest.fixture(scope="module", name="_server")
    def _server():
        with make_server() as server:
            yield server

    return _server


@dataclass(frozen=True)
class Native:
    """A native provider as its tests drive it, against the fake at a test server's URL."""

    kind: str  # the Endpoint kind and the profile's provider
    label: str  # how its errors name it
    fake: ModuleType  # tests.fakes.<wire>: make_server, stream_reply(deltas, tail=...), DEFAULT_DELTAS
    model: str  # in REQUEST and in profile_toml's profile
    profile: str  # the profile name profile_toml writes
    key_var: str  # the kind's own key variable
    sdk_modules: tuple[str, ...]  # what importing the backend module must not import
    auth_header: str = "authorization"  # where the key goes, ...
    auth_scheme: str = "Bearer "  # ... after this
    api_path: str = ""  # added to a server's URL to make the base_url (DashScope's /api/v1)

    @property
    def text(self) -> str:
        """The fake's default answer."""
        return "".join(self.fake.DEFAULT_DELTAS)

    @property
    def request(self) -> Request:
        return Request(messages=(Message("user", "Rewrite this"),), model=self.model, system="be brief",
                       temperature=0.3, max_tokens=123)

    def auth(self, key: str) -> str:
        """The value of ``auth_header`` that sends ``key``."""
        return self.auth_scheme + key

    def base_url(self, url: str) -> str:
        return url + self.api_path

    # -- backend level --------------------------------------------------------------------

    def backend(self, url: str, *, timeout: float = 2.0, headers: dict | None = None, api_key: str | None = "k"):
        """A backend for the fake at ``url`` (a server's root URL), profile 'p'."""
        return backend_for(Endpoint(profile="p", kind=self.kind, base_url=self.base_url(url), api_key=api_key,
                                    headers=headers or {}, timeout=timeout))

    def failing(self, url: str, request: Request | None = None, **kw) -> tuple[E.ProviderError, list[str]]:
        """Run a stream to its error; return (error, the text deltas seen before it)."""
        seen: list[str] = []
        with pytest.raises(E.ProviderError) as info:
            for event in self.backend(url, **kw).stream(request if request is not None else self.request):
                if isinstance(event, TextDelta):
                    seen.append(event.text)
        return info.value, seen

    def assert_status_error(self, srv, reply, status: int, cls: type[E.ProviderError], text: str) -> None:
        """An HTTP error ``reply`` fails the stream with ``cls``, its status and ``text``, after one request."""
        srv.enqueue(reply)
        err, seen = self.failing(srv.url)
        assert type(err) is cls
        assert err.status == status
        assert text in str(err)
        assert "profile 'p'" in str(err) and self.label in str(err)
        assert seen == []
        assert len(srv.requests) == 1  # the SDK's own retries are off

    # -- CLI level ------------------------------------------------------------------------

    def profile_toml(self, url: str, **overrides) -> str:
        """A ``[profiles.<profile>]`` table for the fake at ``url``, its key in MY_TEST_KEY."""
        values = {
            "provider": self.kind, "base_url": self.base_url(url), "api_key_env": "MY_TEST_KEY", "model": self.model,
            "temperature": 0.4, "max_tokens": 321, "system": "You rewrite.", "timeout": 2, "retries": 0,
        }
        values.update(overrides)  # a None value drops the key
        lines = [f"[profiles.{self.profile}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items() if v is not None]
        return "\n".join(lines) + "\n"

    def assert_json_answer(self, result, *, model: str, usage: tuple[int, int, int]) -> None:
        """A successful ``--json`` run: the fake's text, this profile and provider, ``model`` and ``usage``."""
        assert result.code == 0, result.stderr
        assert result.stderr == ""
        out = json.loads(result.stdout)
        assert out["text"] == self.text
        assert (out["profile"], out["provider"], out["model"]) == (self.profile, self.kind, model)
        assert out["usage"] == {**dict(zip(("input_tokens", "output_tokens", "total_tokens"), usage)),
                                "reasoning_tokens": None}
        assert isinstance(out["seconds"], (int, float))

    def assert_cli_error(self, srv, cli, config_file, reply, *needles: str) -> None:
        """The CLI fails on ``reply`` with exit 1 and one stderr line naming profile, provider and ``needles``."""
        config_file(self.profile_toml(srv.url))
        srv.enqueue(reply)
        result = cli("-p", self.profile, "Rewrite this", input="some text", env={"MY_TEST_KEY": "k"})
        assert result.code == 1
        assert_one_line_error(result.stderr, f"profile '{self.profile}'", self.label, *needles)
        assert len(srv.requests) == 1  # retries = 0 in the profile, and none in the SDK

    def assert_clean_subprocess(self, srv, config_file, env: dict[str, str] | None = None, **overrides):
        """``python -m llmcli`` with every warning enabled prints the answer and nothing on stderr.

        Returns the request the fake received.
        """
        path = config_file(self.profile_toml(srv.url, **overrides))
        proc = run_llmcli("-p", self.profile, "Rewrite this", input="some text",
                          env={"LLMCLI_CONFIG": str(path), "MY_TEST_KEY": "k", "PYTHONWARNINGS": "always",
                               **(env or {})})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.decode() == self.text + "\n"
        assert proc.stderr.decode() == ""
        return srv.last


ANTHROPIC = Native("anthropic", "Anthropic", anthropic_wire, "claude-test", "claude", "ANTHROPIC_API_KEY",
                   ("anthropic",))
GEMINI = Native("gemini", "Google Gemini", gemini_wire, "gemini-test", "gem", "GEMINI_API_KEY",
                ("google.genai",), auth_header="x-goog-api-key", auth_scheme="")
MISTRAL = Native("mistral", "Mistral", mistral_wire, "mistral-test", "mis", "MISTRAL_API_KEY", ("mistralai",))
DASHSCOPE = Native("dashscope", "Qwen / DashScope", dashscope_wire, "qwen-test", "qw", "DASHSCOPE_API_KEY",
                   ("dashscope", "requests"), api_path="/api/v1")

NATIVE: dict[str, Native] = {p.kind: p for p in (ANTHROPIC, GEMINI, MISTRAL, DASHSCOPE)}
