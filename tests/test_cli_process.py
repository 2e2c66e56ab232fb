"""The CLI in a real subprocess: pipes, a closed stdout, Ctrl-C, a terminal, and start-up imports."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.fakes.openai_wire import stream_reply

from .conftest import ROOT, run_llmcli

SDKS = ("openai", "anthropic", "google.genai", "mistralai", "dashscope", "httpx", "httpx2", "requests")


def loaded_modules(*args: str) -> set[str]:
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['llmcli', *{list(args)!r}]\n"
        "try:\n    runpy.run_module('llmcli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "sys.stderr.write('MODULES:' + ','.join(sorted(sys.modules)) + '\\n')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    line = [l for l in done.stderr.splitlines() if l.startswith("MODULES:")][-1]
    return set(line[len("MODULES:"):].split(","))


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("profiles",), ("config", "show")])
def test_start_up_loads_no_sdk(args):
    modules = loaded_modules(*args)
    assert "typer" in modules  # the probe itself works
    leaked = [m for m in SDKS if m in modules]
    assert leaked == [], f"{args} imported {leaked}"
    if args == ("--help",):
        assert "rich.markdown" not in modules and "tomllib" not in modules


def test_pipe_output_is_byte_exact(fake_profile):
    text = ["# Title\n\n", "naïve — “quotes” ", "and `code`\n", "\n- a\n- b"]
    fake_profile.enqueue(stream_reply(text))
    done = run_llmcli("hi", env={"LLMCLI_CONFIG": os.environ["LLMCLI_CONFIG"], "LC_ALL": "C"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("".join(text) + "\n").encode("utf-8")
    assert done.stderr == b""


def test_python_m_llmcli_help():
    done = run_llmcli("--help")
    assert done.returncode == 0
    assert b"--profile" in done.stdout and b"Commands:" in done.stdout and b"Exit codes" in done.stdout


def _start(args, env_extra=None, stdout=subprocess.PIPE):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "llmcli", *args], stdin=subprocess.DEVNULL, stdout=stdout,
        stderr=subprocess.PIPE, env=env,
    )


def test_closed_stdout_ends_quietly(fake_profile):
    fake_profile.enqueue(stream_reply([f"line {i}\n" for i in range(200)], pause=0.005))
    reader, writer = os.pipe()
    proc = _start(["hi"], stdout=writer)
    os.close(writer)
    first = os.read(reader, 10)  # like `| head -c 10`
    os.close(reader)
    proc.wait(timeout=30)
    stderr = proc.stderr.read().decode()
    assert first.startswith(b"line 0")
    assert proc.returncode == 141
    assert stderr == "", stderr


def test_ctrl_c_keeps_printed_text_and_exits_130(fake_profile):
    fake_profile.enqueue(stream_reply(["first words ", "more"], pause=3.0))
    proc = _start(["hi"])
    deadline = time.time() + 20
    got = b""
    while b"first words" not in got and time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            got += os.read(proc.stdout.fileno(), 100)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    got += out
    assert proc.returncode == 130
    assert got.startswith(b"first words")
    assert b"Traceback" not in err
    assert err.decode().strip().splitlines() == ["llmcli: error: interrupted"]


def test_terminal_output_renders_markdown(fake_profile):
    """On a pseudo-terminal the answer is rendered (no literal '**'), not dumped raw."""
    fake_profile.enqueue(stream_reply(["# Heading\n\n", "Some **bold** text.\n\n", "- one\n- two\n"]))
    pid, fd = pty.fork()
    if pid == 0:  # child: stdout is the pty
        os.environ["PYTHONPATH"] = str(ROOT)
        os.environ["COLUMNS"] = "60"
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "llmcli", "hi"])
    chunks = b""
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 20)
            if not ready:
                break
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks += data
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = chunks.decode("utf-8", "replace")
    assert "Heading" in text and "bold" in text
    assert "**bold**" not in text  # rendered, not raw
    assert "\x1b[" in text  # styled
    assert text.rstrip().endswith("\x1b[?25h")  # the cursor is shown again at the end


def test_no_markdown_on_terminal_is_plain(fake_profile):
    fake_profile.enqueue(stream_reply(["Some **bold** text."]))
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PYTHONPATH"] = str(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "llmcli", "--no-markdown", "hi"])
    chunks = b""
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 20)
            if not ready:
                break
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks += data
    os.waitpid(pid, 0)
    assert b"Some **bold** text." in chunks
