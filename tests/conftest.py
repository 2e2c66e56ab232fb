"""Shared fixtures: an isolated user environment and ways to run the CLI as a user would.

Every test runs with HOME, the config path and the data dirs pointed at a
temp dir and every provider key variable removed, so no test can read a real
config or key, or reach a real provider.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY_VARS = (
    "OPENAI_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY", "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY", "GOOGLE_API_KEY", "MISTRAL_API_KEY", "DASHSCOPE_API_KEY", "ANTHROPIC_AUTH_TOKEN",
)
OTHER_VARS = (
    "LLMCLI_PROFILE", "LLMCLI_CONFIG", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
    "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "DASHSCOPE_HTTP_BASE_URL",
    "DASHSCOPE_BASE_URL", "COLUMNS", "LINES", "ANTHROPIC_CONFIG_DIR", "ANTHROPIC_PROFILE",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    for var in KEY_VARS + OTHER_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    yield home
    _assert_no_key_in_data_dir(home / ".local/share")
    from llmcli import errors

    errors._SECRETS.clear()  # remembered secrets are per process: one test's keys must not mask another's words
    from llmcli.history import faults

    faults.reset_warning()  # the history warns once per process: every test is a process of its own


def _assert_no_key_in_data_dir(data_dir: Path) -> None:
    """After every test: no API key a test exported is stored anywhere under the user data dir (the history)."""
    if not data_dir.exists():
        return
    keys = {v for k, v in os.environ.items() if k.endswith(("_KEY", "_TOKEN")) and len(v) >= 6}
    if not keys:
        return
    for path in data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for key in keys:
                assert key.encode() not in data, f"an API key is stored in {path}"


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    """Write a config (TOML text), point LLMCLI_CONFIG at it (mode 600), return its path."""

    def write(text: str, *, mode: int = 0o600) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        monkeypatch.setenv("LLMCLI_CONFIG", str(path))
        return path

    return write


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = b""


class _FakeStdin(io.TextIOWrapper):
    def __init__(self, data: bytes, tty: bool) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def cli(monkeypatch):
    """Run ``llmcli.cli.main(args)`` in-process with its own stdin/stdout/stderr.

    stdin is a pipe holding ``input`` when given, else an interactive terminal
    (so nothing is read from it).  stdout and stderr are pipes (not TTYs).
    """

    def run(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        from llmcli import cli as cli_module

        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        data = input.encode() if isinstance(input, str) else (input or b"")
        out_buf, err_buf = io.BytesIO(), io.BytesIO()
        stdin = _FakeStdin(data, tty=input is None)
        stdout = io.TextIOWrapper(out_buf, encoding="utf-8", write_through=True)
        stderr = io.TextIOWrapper(err_buf, encoding="utf-8", write_through=True)
        monkeypatch.setattr(sys, "stdin", stdin)
        monkeypatch.setattr(sys, "stdout", stdout)
        monkeypatch.setattr(sys, "stderr", stderr)
        try:
            code = cli_module.main(list(args))
        except SystemExit as exc:  # main() returns; this only guards against a regression
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            stdout.flush()
            stderr.flush()
            monkeypatch.setattr(sys, "stdin", sys.__stdin__)
            monkeypatch.setattr(sys, "stdout", sys.__stdout__)
            monkeypatch.setattr(sys, "stderr", sys.__stderr__)
        raw = out_buf.getvalue()
        return Result(code, raw.decode("utf-8", "replace"), err_buf.getvalue().decode("utf-8", "replace"), raw)

    return run


def run_llmcli(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m llmcli`` in a subprocess, as a shell user would (stdout and stderr are pipes)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    data = input.encode() if isinstance(input, str) else input
    stdio = {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        [sys.executable, "-m", "llmcli", *args],
        **stdio,
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )


def assert_one_line_error(stderr: str, *needles: str) -> None:
    """stderr is exactly one non-empty line, no traceback, containing every needle."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one stderr line, got: {stderr!r}"
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


@pytest.fixture
def openai_server():
    """A fake OpenAI-compatible server on 127.0.0.1 (streams "Hello from fake server!" by default)."""
    from tests.fakes.openai_wire import make_server

    with make_server() as server:
        yield server


@pytest.fixture
def fake_profile(config_file, openai_server):
    """A config whose default profile 'fake' points at the fake server; returns the server."""
    config_file(
        f"""
default_profile = "fake"

[profiles.fake]
provider = "openai-compatible"
base_url = "{openai_server.url}/v1"
model = "fake-model"
retries = 0
"""
    )
    return openai_server


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
