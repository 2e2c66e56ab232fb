"""Fixtures for the tests against a real OpenAI-compatible server (llama-server, LM Studio, Ollama...).

The server's base URL comes from ``LLMCLI_TEST_LLM_URL`` (with ``/v1``), e.g. from
``eval "$(scripts/local-llm-server.sh start)"``.  Unset or unreachable: the tests skip, unless
``LLMCLI_REQUIRE_LOCAL_LLM=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

URL_VAR = "LLMCLI_TEST_LLM_URL"
REQUIRE_VAR = "LLMCLI_REQUIRE_LOCAL_LLM"
HOW_TO = f'start one with: eval "$(scripts/local-llm-server.sh start)" (sets {URL_VAR})'
MAX_TOKENS = 24  # --max-tokens of the one-shot calls: keep every answer short
# The profile's cap, for calls that pass none (batch): above what scripts/local-llm-server.sh's
# one-sentence answers take (~10-40 tokens), since `batch` refuses an answer cut at the cap.
PROFILE_MAX_TOKENS = 64


@dataclass(frozen=True)
class LocalLLM:
    url: str               # base URL with /v1
    models: tuple[str, ...]  # what GET /v1/models lists


def _unavailable(reason: str):
    if os.environ.get(REQUIRE_VAR) == "1":
        pytest.fail(f"{REQUIRE_VAR}=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason}; {HOW_TO}")


@pytest.fixture(scope="session")
def local_llm() -> LocalLLM:
    url = os.environ.get(URL_VAR, "").strip().rstrip("/")
    if not url:
        _unavailable(f"{URL_VAR} is not set")
    # No proxy: the server is local, and a CI proxy would answer for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/models", timeout=10) as response:
            body = json.load(response)
        models = tuple(item["id"] for item in body.get("data", []))
    except Exception as exc:  # refused, timeout, not JSON, not OpenAI-shaped
        _unavailable(f"no OpenAI-compatible server answers at {url}/models ({type(exc).__name__}: {exc})")
    if not models:
        _unavailable(f"the server at {url} lists no model")
    return LocalLLM(url, models)


@pytest.fixture
def llm_config(local_llm, tmp_path) -> Path:
    """A config whose default (and built-in) lmstudio profile points at the server; no model set."""
    path = tmp_path / "llmcli.toml"
    path.write_text(
        f"""
default_profile = "lmstudio"

[profiles.lmstudio]
base_url = "{local_llm.url}"
max_tokens = {PROFILE_MAX_TOKENS}
timeout = 60
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def workdir(tmp_path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def llmcli_env() -> dict[str, str]:
    """The environment the autouse ``isolated_env`` left (no keys, temp HOME), minus PYTHONPATH:
    the subprocess runs the *installed* llmcli."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("LLMCLI_DEBUG", None)
    return env


@pytest.fixture
def llmcli(llm_config, workdir):
    """Run the installed ``llmcli`` (``python -m llmcli --config <temp config> ARGS``) in ``workdir``
    (not the checkout, so ``-m llmcli`` cannot pick up the source tree) with stdout/stderr captured."""

    def run(*args: str, input: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
        stdio = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
        return subprocess.run(
            [sys.executable, "-m", "llmcli", "--config", str(llm_config), *args],
            **stdio, capture_output=True, text=True, encoding="utf-8", env=llmcli_env(), cwd=workdir,
            timeout=timeout,
        )

    return run


def assert_quiet_stderr(stderr: str) -> None:
    """No error and no traceback; at most warnings (a 270M model often hits the token cap)."""
    assert "Traceback" not in stderr, stderr
    for line in stderr.splitlines():
        if line.strip():
            assert line.startswith("llmcli: warning:"), f"unexpected stderr: {stderr!r}"
