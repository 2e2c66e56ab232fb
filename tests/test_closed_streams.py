"""A standard stream the shell closed (``>&-``, ``<&-``, ``2>&-``): one clear line, never a traceback.

Run as a user would: ``sh -c 'exec python -m llmcli … >&-'`` (a pipe to DEVNULL is
not a closed stream; the descriptor must be missing when the interpreter starts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

REDIRECT = {"stdout": ">&-", "stdin": "<&-", "stderr": "2>&-"}


def run_closed(closed: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m llmcli ARGS`` with one standard stream closed; the other two are pipes (stdin: empty)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    script = f'exec "$@" {REDIRECT[closed]}'
    return subprocess.run(["sh", "-c", script, "sh", sys.executable, "-m", "llmcli", *args],
                          input=b"", capture_output=True, env=full_env, cwd=cwd, timeout=timeout)


def assert_no_traceback(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    return err


@pytest.fixture
def fake_config(config_file, openai_server):
    """The config of conftest's ``fake_profile``, as a path a subprocess is given."""
    path = config_file(f"""
default_profile = "fake"

[profiles.fake]
provider = "openai-compatible"
base_url = "{openai_server.url}/v1"
model = "fake-model"
retries = 0
""")
    return {"LLMCLI_CONFIG": str(path)}


@pytest.mark.parametrize("args", [["--version"], ["profiles"], ["--help"], ["styles"]])
def test_closed_stdout_is_one_line_not_a_traceback(args):
    proc = run_closed("stdout", *args)
    err = assert_no_traceback(proc)
    assert proc.returncode == 141
    assert err.strip() == "llmcli: error: standard output is closed (>&-): nothing can be written to it"


@pytest.mark.parametrize("args", [["--version"], ["profiles"]])
def test_closed_stdin_does_not_matter_where_nothing_is_read(args):
    proc = run_closed("stdin", *args)
    assert_no_traceback(proc)
    assert proc.returncode == 0 and proc.stdout


def test_closed_stdout_with_o_writes_the_file(fake_config, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("some text\n")
    out = tmp_path / "out.txt"
    proc = run_closed("stdout", "-f", str(src), "-o", str(out), "Rewrite", env=fake_config)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "Hello from fake server!\n"


def test_closed_stdin_is_no_input_for_an_instruction(fake_config, openai_server):
    proc = run_closed("stdin", "Say hello", env=fake_config)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == "Hello from fake server!\n"
    assert "Say hello" in openai_server.last.json["messages"][-1]["content"]


def test_closed_stdin_asked_for_explicitly(fake_config, openai_server):
    proc = run_closed("stdin", "-f", "-", "Rewrite", env=fake_config)
    err = assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "standard input is closed" in err or "no standard input" in err
    assert openai_server.requests == []


def test_batch_from_closed_stdin(fake_config, tmp_path, openai_server):
    proc = run_closed("stdin", "batch", "--from", "-", "--out", str(tmp_path / "out"), "-s", "fix",
                      env=fake_config, cwd=tmp_path)
    err = assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "standard input is closed" in err
    assert openai_server.requests == []


def test_batch_with_closed_stdout_writes_its_files(fake_config, tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    proc = run_closed("stdout", "batch", "a.txt", "--out", "out", "-s", "fix", env=fake_config, cwd=tmp_path)
    assert_no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "Hello from fake server!\n"


def test_closed_stderr_still_answers(fake_config):
    proc = run_closed("stderr", "Say hello", env=fake_config)
    assert proc.returncode == 0
    assert proc.stdout.decode() == "Hello from fake server!\n"


def test_closed_stdout_does_not_lend_its_number_to_a_file(tmp_path):
    # With fd 1 closed, the next open() would get 1; a stray write to fd 1 would land in that file.
    code = ("import os, sys; from llmcli.terminal import guard_closed_streams; guard_closed_streams(); "
            "f = open(sys.argv[1], 'w'); os.write(1, b'stray'); f.write('mine'); f.close()")
    target = tmp_path / "file.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-c", code, str(target)],
                          capture_output=True, env=env, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == "mine"
