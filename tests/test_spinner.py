"""The waiting indicator: stderr only, erases itself, stops at the first word on a terminal."""

from __future__ import annotations

import io
import time

from llmcli.spinner import Spinner, SpinningWriter


class Recorder:
    def __init__(self):
        self.fed = []
        self.finished = self.aborted = False

    def feed(self, text):
        self.fed.append(text)

    def finish(self):
        self.finished = True

    def abort(self):
        self.aborted = True


def wait_for(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


def test_draws_then_erases_its_line():
    out = io.StringIO()
    spinner = Spinner("waiting for Groq (groq)", out, delay=0, interval=0.01).start()
    assert wait_for(lambda: "waiting for Groq (groq)" in out.getvalue())
    spinner.stop()
    assert out.getvalue().endswith("\r\x1b[2K")
    size = len(out.getvalue())
    time.sleep(0.05)
    assert len(out.getvalue()) == size  # nothing drawn after stop
    spinner.stop()  # idempotent


def test_fast_answers_show_nothing():
    out = io.StringIO()
    spinner = Spinner("x", out, delay=0.5).start()
    spinner.stop()
    assert out.getvalue() == ""


def test_print_above_keeps_status_lines_whole():
    out = io.StringIO()
    spinner = Spinner("x", out, delay=0, interval=0.01).start()
    assert wait_for(lambda: "x" in out.getvalue())
    spinner.print_above("llmcli: rate limited; retry 1/2 in 1.0 s")
    spinner.stop()
    assert "\r\x1b[2Kllmcli: rate limited; retry 1/2 in 1.0 s\n" in out.getvalue()


def test_stops_at_first_word_when_the_answer_is_on_the_terminal():
    out = io.StringIO()
    spinner = Spinner("x", out, delay=0, interval=0.01).start()
    inner = Recorder()
    writer = SpinningWriter(inner, spinner, answer_on_terminal=True)
    assert wait_for(lambda: out.getvalue() != "")
    writer.feed("Hello")
    drawn = out.getvalue()
    assert drawn.endswith("\r\x1b[2K") and inner.fed == ["Hello"]
    time.sleep(0.05)
    assert out.getvalue() == drawn
    writer.finish()
    assert inner.finished


def test_counts_while_the_answer_goes_elsewhere():
    out = io.StringIO()
    spinner = Spinner("x", out, delay=0, interval=0.01).start()
    writer = SpinningWriter(Recorder(), spinner, answer_on_terminal=False)
    writer.feed("Hello")
    writer.feed(" world")
    assert wait_for(lambda: "11 characters received" in out.getvalue())
    writer.abort()
    assert out.getvalue().endswith("\r\x1b[2K") and writer.inner.aborted
