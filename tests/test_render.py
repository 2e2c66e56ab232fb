"""Output mode choice and the raw writer (pipes): byte-exact, one trailing newline, closed pipes."""

from __future__ import annotations

import io

import pytest

from llmcli import render


class Pipe(io.TextIOWrapper):
    def __init__(self, tty=False):
        super().__init__(io.BytesIO(), encoding="ascii")  # a C-locale stdout
        self._tty = tty

    def isatty(self):
        return self._tty


def test_raw_writer_is_byte_exact_utf8_even_on_ascii_stdout():
    out = Pipe()
    writer = render.RawWriter(out)
    for part in ["naïve ", "“quoted”", " — end"]:
        writer.feed(part)
    writer.finish()
    assert out.buffer.getvalue() == "naïve “quoted” — end\n".encode()


def test_raw_writer_adds_no_second_newline():
    out = Pipe()
    writer = render.RawWriter(out)
    writer.feed("line\n")
    writer.finish()
    assert out.buffer.getvalue() == b"line\n"


def test_raw_writer_closed_pipe_raises_stdout_closed():
    class Closed(Pipe):
        pass

    out = Closed()
    out.buffer.close()
    writer = render.RawWriter(out)
    with pytest.raises(render.StdoutClosed):
        writer.feed("x")
    writer.abort()  # must not raise


@pytest.mark.parametrize(
    "env, tty, flags, expected",
    [
        ({}, False, {}, render.RAW),
        ({}, True, {}, render.MARKDOWN),
        ({}, True, {"raw": True}, render.RAW),
        ({}, True, {"markdown": False}, render.PLAIN),
        ({}, True, {"silent": True}, render.SILENT),
        # Colour variables never change what stdout carries: a pipe stays raw, a terminal rendered.
        ({"FORCE_COLOR": "1"}, False, {}, render.RAW),
        ({"FORCE_COLOR": ""}, True, {}, render.MARKDOWN),
        ({"NO_COLOR": "1"}, True, {}, render.MARKDOWN),
        ({"TERM": "dumb"}, True, {}, render.RAW),
        ({"TTY_COMPATIBLE": "1"}, False, {}, render.MARKDOWN),
        ({"TTY_COMPATIBLE": "0"}, True, {}, render.RAW),
    ],
)
def test_choose_mode(monkeypatch, env, tty, flags, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.stdout", Pipe(tty=tty))
    args = {"raw": False, "markdown": True, "silent": False, **flags}
    assert render.choose_mode(**args) == expected
