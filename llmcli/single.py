"""Single mode: one text in, one answer out, on stdout, in a file or as JSON — and in the history.

The flow, each step one call into the shared path (llmcli/call.py, llmcli/session.py):
inputs → (a conversation to continue) → compose → resolve the request → (the cache) →
stream it through the writers → judge the answer → write it where it goes → record it.
Batch (llmcli/batch/) is the same path over many files.

A paid answer is never lost: it is recorded in the history before anything else can
fail (an answer refused for ``-o`` because it was cut, a full disk), and the errors say
so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import errors as E
from . import history, render, status
from .atomic import FILE, keep_backup, resolve_target, write_target
from .call import Call, CallFlags, Composed
from .errors import UsageError
from .inputs import Document, gather
from .providers import backend_for
from .render import write_stdout
from .session import cached_answer, check_answer, complete
from .terminal import stderr_is_terminal, stdout_is_closed, stdout_is_terminal


@dataclass(frozen=True)
class RunOptions:
    """The default command's options: the call's settings, and where the text comes from and goes."""

    call: CallFlags
    words: Sequence[str] = ()
    files: Sequence[str] = ()
    output: str | None = None
    as_json: bool = False
    raw: bool = False
    markdown: bool = True
    show_usage: bool = False
    clean: bool = True
    diff: bool = False
    no_log: bool = False
    cache: bool | None = None  # None: the profile's `cache`
    resume: str | None = None  # -c ("last") or --cid ID


def run_once(o: RunOptions) -> None:
    if o.as_json and o.raw:
        raise UsageError("--json and --raw do not go together")
    if o.diff and o.as_json:
        raise UsageError("--diff and --json do not go together")
    target = _output_target(o.output) if o.output else None  # what -o FILE is, before any request
    if target is not None and target.is_stdout:  # -o - : stdout, as if no -o was given
        target = None
        o = replace(o, output=None)
    if target is None or o.as_json or o.diff:
        if stdout_is_closed():
            raise E.StdoutClosed("stdout is closed (>&-): the answer would be lost; give -o FILE")
    previous = history.resume(o.resume) if o.resume else None
    flags = o.call
    if previous is not None and not flags.profile:
        # Continue with the profile and model the conversation had, unless -p/-m say otherwise.
        flags = replace(flags, profile=previous.profile, model=flags.model or previous.model)
    call = Call.resolve(flags)
    inputs = gather(o.words, o.files, allow_empty=previous is not None)
    composed = _compose(call, inputs, previous)
    if o.diff and len(composed.documents) != 1:
        raise UsageError("--diff needs exactly one text: stdin, a single -f FILE, or the words with -s STYLE")
    request = call.request(composed, prior=previous.messages if previous else ())
    warnings = call.check(request)  # a reasoning level the model cannot take fails here, before any request
    endpoint = call.endpoint()
    record = _Recorder(call, o, previous, endpoint, request, composed, inputs.instruction)

    cached = record.cached_answer() if _cache_on(call, o) else None
    if cached is not None:
        answer = cached
        _show_cached(o, answer)
    else:
        answer = _stream(call, o, backend_for(endpoint), request, composed, record)
    record.done(answer)  # first: whatever is refused or fails next, the paid answer is kept
    warnings += _check(o, answer, kept=record.kept)
    if target is not None:
        _write_output(target, answer.text, o.files, kept=record.kept)
    if o.as_json:
        write_stdout(json.dumps(answer.as_json(with_reasoning=call.shows_reasoning()), ensure_ascii=False))
    if o.diff:
        from .answer_diff import show_answer_diff

        document = composed.documents[0]
        show_answer_diff(document.text, answer.text, label=document.label, after_answer=stdout_is_terminal())
    if o.show_usage:
        status.note(_usage_line(answer))
    for warning in warnings:
        status.warn(warning)


def _stream(call: Call, o: RunOptions, backend: Any, request: Any, composed: Composed, record: _Recorder) -> Any:
    """Send the request and stream the answer to the terminal, the pipe, or nowhere (-o, --json)."""
    mode = _display_mode(o)
    writer: Any = render.make_writer(mode)
    spinner = spinning = None
    if stderr_is_terminal():
        from .spinner import Spinner, SpinningWriter

        spinner = Spinner.waiting(call.profile.name, call.profile.base_url).start()
        writer = spinning = SpinningWriter(writer, spinner,
                                           answer_on_terminal=mode != render.SILENT and stdout_is_terminal())
    on_reasoning = spinning.reasoning if spinning is not None else None  # "thinking · N characters"
    if call.shows_reasoning() and not o.as_json:
        from .reasoning_display import ReasoningDisplay

        writer = display = ReasoningDisplay(writer, before_first=spinner.stop if spinner else None)
        on_reasoning = display.reasoning
    writer = capture = render.Capture(writer)
    policy = call.policy()

    def on_retry(err: E.ProviderError, wait: float, attempt: int) -> None:
        line = policy.describe(err, wait, attempt)
        if spinner is not None:
            spinner.print_above(f"{status.PREFIX}: {line}")
        else:
            status.note(line)

    try:
        return complete(backend, request, policy=policy, writer=writer,
                        clean_source=composed.source if o.clean else None, on_reasoning=on_reasoning,
                        think_open=call.think_tags_open(), on_retry=on_retry)
    except E.Interrupted:
        record.failed("interrupted", capture.text)
        raise
    except E.ProviderError as err:
        record.failed("error", capture.text, err)
        if isinstance(err, E.ConnectError):
            raise call.no_provider(err) from None
        if isinstance(err, E.AnswerError) and o.output:
            err.message += f"; {o.output} left unchanged"
        raise
    finally:
        if spinner is not None:
            spinner.stop()


def _check(o: RunOptions, answer: Any, *, kept: bool) -> list[str]:
    """The one answer check (session.check_answer); a refusal for -o names the file and where the answer is."""
    try:
        return check_answer(answer, replaces_text=bool(o.output))
    except E.AnswerError as err:
        if o.output:
            kept_note = " (the answer is in the history: llmcli last)" if kept else ""
            err.message += f"; {o.output} left unchanged{kept_note}"
        raise


def _compose(call: Call, inputs: Any, previous: Any) -> Composed:
    """Words are the instruction; with a style and no other text source, they are the text itself.

    Continuing (``-c``): a style applies to the previous answer (``llmcli -c -s formal``);
    words alone are the next instruction (``llmcli -c "make it shorter"``).
    """
    documents, instruction = inputs.documents, inputs.instruction
    if call.style is not None and not documents:
        if previous is not None:
            documents = (Document("<text>", previous.answer),)
        else:
            documents, instruction = (Document("<text>", inputs.instruction),), ""
    if previous is not None and not documents and not instruction:
        raise UsageError("say how to refine the last answer: llmcli -c \"make it shorter\" (or -s STYLE)")
    return call.compose(documents, instruction)


def _cache_on(call: Call, o: RunOptions) -> bool:
    return bool(o.cache if o.cache is not None else call.profile.cache)


def _show_cached(o: RunOptions, answer: Any) -> None:
    """A cached answer is shown exactly as a fresh one would be (only --json says it was cached)."""
    writer = render.make_writer(_display_mode(o))
    writer.feed(answer.text)
    writer.finish()


def _display_mode(o: RunOptions) -> str:
    """How the answer is shown while it comes (render's modes): nothing with --json or -o, and in a
    pipe nothing with --diff, which then prints the diff instead (on a terminal, after the answer)."""
    silent = o.as_json or bool(o.output) or (o.diff and not stdout_is_terminal())
    return render.choose_mode(raw=o.raw, markdown=o.markdown, silent=silent)


class _Recorder:
    """The history's view of this call: a cache lookup before, one record after (never both)."""

    def __init__(self, call: Call, o: RunOptions, previous: Any, endpoint: Any, request: Any,
                 composed: Composed, instruction: str) -> None:
        self.history = history
        self.on = history.enabled(call.config, o.no_log)
        self.call, self.previous, self.endpoint, self.request = call, previous, endpoint, request
        self.composed, self.instruction = composed, instruction
        self.recorded = False
        self.kept = False  # the answer is in the history (errors may point there)

    def _fields(self) -> dict[str, Any]:
        documents = self.composed.documents
        previous = self.previous
        return {
            "endpoint": self.endpoint, "request": self.request,
            "style": self.call.style.name if self.call.style else None,
            "variables": dict(self.call.values) or None,
            "instruction": self.instruction or None,
            "input_text": self.composed.source or None,
            "source": documents[0].label if len(documents) == 1 else None,
            "conversation_id": previous.conversation_id if previous else None,
            "parent_id": previous.parent_id if previous else None,
        }

    def cached_answer(self) -> Any:
        hit = self.history.lookup(history.request_key(self.endpoint.kind, self.endpoint.base_url, self.request))
        return cached_answer(hit, self.endpoint) if hit is not None else None

    def done(self, answer: Any) -> None:
        if self.on and not self.recorded:
            self.recorded = True
            self.kept = self.history.record(result=answer, cached=answer.cached, **self._fields()) is not None

    def failed(self, how: str, text: str, err: BaseException | None = None) -> None:
        if self.on and not self.recorded:
            self.recorded = True
            self.history.record(status=how, answer=text, error=err, **self._fields())


def _usage_line(answer: Any) -> str:
    """``-u``: tokens (reasoning ones apart when reported), time, profile and model."""
    if answer.cached:
        tokens = "cached: no request made, no tokens"
    elif answer.usage:
        u = answer.usage.as_dict()
        tokens = f"{u['input_tokens']} in + {u['output_tokens']} out = {u['total_tokens']} tokens"
        if u["reasoning_tokens"] is not None:
            tokens += f" ({u['reasoning_tokens']} of them reasoning)"
    else:
        tokens = "usage not reported"
    return f"{tokens} · {answer.seconds:.2f} s · {answer.profile} ({answer.model or 'default model'})"


def _write_output(target: Any, text: str, inputs: Sequence[str], *, kept: bool) -> None:
    """-o: FILE replaced atomically (through symlinks, which are kept), or a device or FIFO written as
    ``>`` would; an in-place edit keeps the original as FILE.bak; never write nothing.

    A write that fails after the answer was paid for (a full disk) does not lose it: it is in
    the history (``llmcli last``), and it goes to stdout too, which -o left empty (exit 74).
    """
    output = target.name
    sources = {Path(f).resolve() for f in inputs if f != "-"}
    body = text if text.endswith("\n") else text + "\n"
    try:
        if target.kind == FILE and target.path.exists() and target.path in sources:
            backup = keep_backup(target.path, target.path.read_bytes())
            status.note(f"{output} rewritten in place; the original is kept in {backup}")
        write_target(target, body.encode("utf-8"))
    except OSError as exc:
        write_stdout(body)
        where = "printed on stdout instead" + (" and kept in the history (llmcli last)" if kept else "")
        raise E.OutputError(f"-o {output}: cannot write: {exc.strerror or exc}; the answer was {where}") from None
    if stderr_is_terminal():
        status.note(f"wrote {output} ({len(text.encode())} bytes)")


def _output_target(output: str) -> Any:
    """What can be known about -o FILE before a request is paid for: what it is, and that it can be written."""
    import os

    try:
        target = resolve_target(output)
    except IsADirectoryError:
        raise UsageError(f"-o {output}: is a directory") from None
    except OSError as exc:
        raise UsageError(f"-o {output}: {exc.strerror or exc}") from None
    if target.kind == FILE and target.path is not None:
        parent = target.path.parent
        if not parent.is_dir():
            raise UsageError(f"-o {output}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"-o {output}: directory {parent} is not writable")
    return target
