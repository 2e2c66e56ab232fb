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
    line = [entry for entry in done.stderr.splitlines() if entry.startswith("MODULES:")][-1]
    return set(line[len("MODULES:"):].split(","))


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("profiles",), ("config", "show")])
def test_start_up_loads_no_sdk(args):
    modules = loaded_modules(*args)
    assert "typer" in modules  # the probe itself works
    leaked = [m for m in SDKS if m in modules]
    assert leaked == [], f"{args} imported {leaked}"
    if args == ("--help",):
        assert "rich.markdown" not in modules and "tomllib" not in modules
    if args in (("--help",), ("--version",)):
        # Typer's option coercion loads pydantic (~60 ms): help and version must not need it.
        assert "pydantic" not in modules
        # The history and jobs commands are built only when they run (their help is listed from a table).
        assert "llmcli.history_cli" not in modules and "llmcli.jobs_cli" not in modules
        assert "sqlite3" not in modules


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


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_or_sigterm_keeps_printed_text(fake_profile, sig, code, word):
    fake_profile.enqueue(stream_reply(["first words ", "more"], pause=3.0))
    proc = _start(["hi"])
    deadline = time.time() + 20
    got = b""
    while b"first words" not in got and time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            got += os.read(proc.stdout.fileno(), 100)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    got += out
    assert proc.returncode == code
    assert got.startswith(b"first words")
    assert b"Traceback" not in err
    assert err.decode().strip().splitlines() == [f"llmcli: error: {word}"]


def run_on_pty(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run llmcli with stdout on a pseudo-terminal; return (exit code, everything it drew)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: stdin, stdout and stderr are the pty
        os.environ.update({"PYTHONPATH": str(ROOT), "COLUMNS": "60", "TERM": "xterm-256color", **(env or {})})
        os.execv(sys.executable, [sys.executable, "-m", "llmcli", *args])
    chunks = b""
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 20)
            data = os.read(fd, 4096) if ready else b""
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), chunks.decode("utf-8", "replace")


def test_terminal_output_renders_markdown(fake_profile):
    """On a pseudo-terminal the answer is rendered (no literal '**'), not dumped raw."""
    fake_profile.enqueue(stream_reply(["# Heading\n\n", "Some **bold** text.\n\n", "- one\n- two\n"]))
    code, text = run_on_pty("hi")
    assert code == 0
    assert "Heading" in text and "bold" in text
    assert "**bold**" not in text  # rendered, not raw
    assert "\x1b[" in text  # styled
    assert text.rstrip().endswith("\x1b[?25h")  # the cursor is shown again at the end


def test_no_markdown_on_terminal_is_plain(fake_profile):
    fake_profile.enqueue(stream_reply(["Some **bold** text."]))
    code, text = run_on_pty("--no-markdown", "hi")
    answer = text.rsplit("\r\x1b[2K", 1)[-1]  # after the waiting spinner (stderr) erased its line, if it drew
    assert code == 0 and answer == "Some **bold** text.\r\n"


def test_no_color_drops_colours_but_keeps_rendering(fake_profile):
    answer = ["# Title\n\n", "```python\nprint('hi')\n```\n"]
    fake_profile.enqueue(stream_reply(answer), stream_reply(answer))
    _, coloured = run_on_pty("hi")
    code, plain = run_on_pty("hi", env={"NO_COLOR": "1"})
    assert code == 0 and "print" in plain and "```" not in plain
    colour = ("38;2;", "38;5;", "48;2;", "48;5;")
    assert any(c in coloured for c in colour)
    assert not any(c in plain for c in colour)


def test_ctrl_c_on_a_terminal_restores_it(fake_profile):
    """Ctrl-C mid-answer on a terminal: exit 130, the text so far stays, cursor and echo come back."""
    import termios

    fake_profile.enqueue(stream_reply(["# Title\n\n", "First paragraph.\n\n", "Second"], pause=2.0))
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"PYTHONPATH": str(ROOT), "COLUMNS": "60", "TERM": "xterm-256color"})
        os.execv(sys.executable, [sys.executable, "-m", "llmcli", "hi"])
    seen = b""
    deadline = time.time() + 30
    while b"First" not in seen and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            seen += os.read(fd, 4096)
    assert termios.tcgetattr(fd)[3] & termios.ECHO == 0  # echo is off while the answer streams
    os.kill(pid, signal.SIGINT)
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 10)
            data = os.read(fd, 4096) if ready else b""
        except OSError:
            break
        if not data:
            break
        seen += data
    echo_back = termios.tcgetattr(fd)[3] & termios.ECHO
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = seen.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 130
    assert "Title" in text and "First paragraph." in text
    assert "error\x1b[0m: interrupted" in text and "Traceback" not in text  # coloured on a terminal
    assert "\x1b[?25h" in text  # cursor shown again
    assert echo_back  # terminal echo restored
