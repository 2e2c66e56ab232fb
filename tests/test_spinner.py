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


# -- what it says: waiting / thinking / receiving, the profile and its host ------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_waiting_names_the_profile_and_the_host_not_the_provider_kind():
    spinner = Spinner.waiting("lmstudio", "http://localhost:1234/v1", io.StringIO())
    assert spinner.line(0) == "⠋ waiting for lmstudio (localhost:1234)"
    assert Spinner.waiting("groq", "https://api.groq.com/openai/v1").text() == "waiting for groq (api.groq.com)"
    assert Spinner.waiting("box", None).text() == "waiting for box"


def test_the_host_never_shows_userinfo():
    spinner = Spinner.waiting("gw", "https://user:s3cret@gateway.example:8443/v1")
    assert spinner.text() == "waiting for gw (gateway.example:8443)"
    assert "s3cret" not in spinner.text()
    assert Spinner.waiting("v6", "http://[::1]:8080/v1").text() == "waiting for v6 ([::1]:8080)"
    assert Spinner.waiting("bad", "http://host:notaport/v1").text() == "waiting for bad"


def test_a_long_wait_says_how_long():
    clock = FakeClock()
    spinner = Spinner.waiting("local", "http://127.0.0.1:8080/v1", io.StringIO(), clock=clock)
    clock.now += 1
    assert spinner.text() == "waiting for local (127.0.0.1:8080)"
    clock.now += 11
    assert spinner.text() == "waiting for local (127.0.0.1:8080) · 12 s"


def test_the_writer_moves_from_waiting_to_thinking_to_receiving():
    out = io.StringIO()
    spinner = Spinner.waiting("lmstudio", "http://localhost:1234/v1", out)
    inner = Recorder()
    writer = SpinningWriter(inner, spinner, answer_on_terminal=False)
    writer.reasoning("Let me think" * 100)
    assert spinner.text() == "thinking · 1,200 characters of reasoning"
    writer.reasoning_tokens(312)
    assert spinner.text() == "thinking · 312 reasoning tokens"
    writer.feed("x" * 58)
    assert spinner.text() == "receiving from lmstudio (localhost:1234) · 58 characters"
    writer.feed("y" * 1000)
    assert spinner.text() == "receiving from lmstudio (localhost:1234) · 1,058 characters"
    assert inner.fed == ["x" * 58, "y" * 1000]  # reasoning never reaches the answer
    spinner.draw(3)
    assert out.getvalue() == "\r\x1b[2K\x1b[2m⠸ receiving from lmstudio (localhost:1234) · 1,058 characters\x1b[0m"
    writer.finish()
    assert inner.finished and out.getvalue().endswith("\r\x1b[2K")


def test_reasoning_reaches_an_inner_writer_that_wants_it():
    class Thoughtful(Recorder):
        def __init__(self):
            super().__init__()
            self.thoughts = []

        def reasoning(self, text):
            self.thoughts.append(text)

    inner = Thoughtful()
    writer = SpinningWriter(inner, Spinner.waiting("p", None, io.StringIO()), answer_on_terminal=True)
    writer.reasoning("hmm")
    writer.feed("Answer")
    assert inner.thoughts == ["hmm"] and inner.fed == ["Answer"]


def test_on_a_terminal_thinking_spins_and_the_first_word_stops_it():
    out = io.StringIO()
    spinner = Spinner.waiting("p", "http://h:1/v1", out)
    writer = SpinningWriter(Recorder(), spinner, answer_on_terminal=True)
    writer.reasoning("abc")
    spinner.draw(0)
    assert "thinking · 3 characters of reasoning" in out.getvalue()
    writer.feed("Hello")
    assert spinner.stopped and out.getvalue().endswith("\r\x1b[2K")
    writer.reasoning("more")  # late reasoning after the answer began: no redraw
    spinner.draw(1)
    assert out.getvalue().endswith("\r\x1b[2K")


def test_the_thread_draws_the_current_state():
    out = io.StringIO()
    spinner = Spinner.waiting("lmstudio", "http://localhost:1234/v1", out, delay=0, interval=0.01).start()
    assert wait_for(lambda: "waiting for lmstudio (localhost:1234)" in out.getvalue())
    spinner.receiving(5)
    assert wait_for(lambda: "receiving from lmstudio (localhost:1234) · 5 characters" in out.getvalue())
    spinner.stop()
    assert out.getvalue().endswith("\r\x1b[2K")


def test_a_real_stream_drives_the_states_through_the_call_layer(openai_server):
    """The wiring the call layer uses: the SDK against the fake, ReasoningDelta text to .reasoning, text to .feed."""
    from llmcli.providers import backend_for
    from llmcli.providers.base import Endpoint, Message, Request
    from llmcli.retry import RetryPolicy
    from llmcli.session import complete
    from tests.fakes.openai_wire import stream_reply

    openai_server.enqueue(stream_reply(["The", " answer"], thinking=["Let me ", "think."]))
    base_url = openai_server.url + "/v1"
    spinner = Spinner.waiting("local", base_url, io.StringIO())
    seen = []

    class Watching(Recorder):
        def feed(self, text):
            seen.append(spinner.text())
            super().feed(text)

    assert spinner.text().startswith("waiting for local (127.0.0.1:")
    writer = SpinningWriter(Watching(), spinner, answer_on_terminal=False)

    def on_reasoning(text):
        writer.reasoning(text)
        seen.append(spinner.text())

    backend = backend_for(Endpoint("local", "openai-compatible", base_url, None, {}, 10))
    answer = complete(backend, Request(messages=(Message("user", "hi"),), model="fake-model"),
                      policy=RetryPolicy(retries=0), writer=writer, on_reasoning=on_reasoning)
    assert answer.text == "The answer" and writer.inner.fed == ["The", " answer"]
    assert seen[:2] == ["thinking · 7 characters of reasoning", "thinking · 13 characters of reasoning"]
    assert spinner.text() == f"receiving from local ({base_url.split('//')[1].split('/')[0]}) · 10 characters"
    assert spinner.stopped  # finish() stopped it


def test_hidden_thinking_still_says_thinking(openai_server):
    """Encrypted reasoning arrives as an empty ReasoningDelta: complete() passes it on, so the spinner says so."""
    from llmcli.providers import backend_for
    from llmcli.providers.base import Endpoint, Message, Request
    from llmcli.retry import RetryPolicy
    from llmcli.session import complete
    from tests.fakes.openai_wire import stream_reply

    openai_server.enqueue(stream_reply(["Done"], thinking=["b3BhcXVl"], thinking_field="encrypted"))
    base_url = openai_server.url + "/v1"
    spinner = Spinner.waiting("or", base_url, io.StringIO())
    writer = SpinningWriter(Recorder(), spinner, answer_on_terminal=False)
    seen = []

    def on_reasoning(text):
        writer.reasoning(text)
        seen.append((text, spinner.text()))

    backend = backend_for(Endpoint("or", "openrouter", base_url, "sk-or-test-0000000000000000", {}, 10))
    answer = complete(backend, Request(messages=(Message("user", "hi"),), model="m"),
                      policy=RetryPolicy(retries=0), writer=writer, on_reasoning=on_reasoning)
    assert answer.text == "Done" and answer.reasoning == ""
    assert seen and seen[0][0] == "" and seen[0][1].startswith("thinking")
