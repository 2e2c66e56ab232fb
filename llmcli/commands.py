"""What each CLI command does, apart from parsing (which is ``cli``).

Imported only when a command runs, so ``--help`` never pays for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import config as C
from . import status
from .call import CallFlags
from .errors import ConfigError, UsageError
from .render import write_stdout
from .terminal import stderr_is_terminal, stdout_is_terminal


# -- the default command --------------------------------------------------------


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


def run_once(o: RunOptions) -> None:
    from . import errors as E
    from . import render
    from .call import Call
    from .inputs import gather
    from .providers import KINDS, backend_for
    from .session import check_answer, complete

    if o.as_json and o.raw:
        raise UsageError("--json and --raw do not go together")
    if o.diff and o.as_json:
        raise UsageError("--diff and --json do not go together")
    call = Call.resolve(o.call)
    composed = _compose(call, gather(o.words, o.files))
    if o.diff and len(composed.documents) != 1:
        raise UsageError("--diff needs exactly one text: stdin, a single -f FILE, or the words with -s STYLE")
    request = call.request(composed)
    if o.output:
        _check_output_path(o.output)
    policy = call.policy()
    backend = backend_for(call.endpoint())
    # In a pipe, --diff prints the diff instead of the answer; on a terminal, after it.
    silent = o.as_json or bool(o.output) or (o.diff and not stdout_is_terminal())
    mode = render.choose_mode(raw=o.raw, markdown=o.markdown, silent=silent)
    writer = render.make_writer(mode)
    spinner = None
    if stderr_is_terminal():
        from .spinner import Spinner, SpinningWriter

        profile = call.profile
        spinner = Spinner(f"waiting for {KINDS[profile.provider].label} ({profile.name})").start()
        on_terminal = mode != render.SILENT and stdout_is_terminal()
        writer = SpinningWriter(writer, spinner, answer_on_terminal=on_terminal)

    def on_retry(err: E.ProviderError, wait: float, attempt: int) -> None:
        line = policy.describe(err, wait, attempt)
        if spinner is not None:
            spinner.print_above(f"{status.PREFIX}: {line}")
        else:
            status.note(line)

    try:
        answer = complete(backend, request, policy=policy, writer=writer,
                          clean_source=composed.source if o.clean else None, on_retry=on_retry)
        warnings = check_answer(answer, replaces_text=bool(o.output))
    except E.AnswerError as err:
        if o.output:
            err.message += f"; {o.output} left unchanged"
        raise
    except E.ConnectError as err:
        raise call.no_provider(err) from None
    finally:
        if spinner is not None:
            spinner.stop()

    if o.output:
        _write_output(o.output, answer.text, o.files)
    if o.as_json:
        write_stdout(json.dumps(answer.as_json(), ensure_ascii=False))
    if o.diff:
        _show_diff(composed.documents[0], answer.text)
    if o.show_usage:
        status.note(_usage_line(answer))
    for warning in warnings:
        status.warn(warning)


def _compose(call, inputs):
    """Words are the instruction; with a style and no other text source, they are the text itself."""
    from .inputs import Document

    documents, instruction = inputs.documents, inputs.instruction
    if call.style is not None and not documents:
        documents, instruction = (Document("<text>", inputs.instruction),), ""
    return call.compose(documents, instruction)


def _usage_line(answer) -> str:
    """``-u``: tokens (reasoning ones apart when reported), time, profile and model."""
    if answer.usage:
        u = answer.usage.as_dict()
        tokens = f"{u['input_tokens']} in + {u['output_tokens']} out = {u['total_tokens']} tokens"
        if u["reasoning_tokens"] is not None:
            tokens += f" ({u['reasoning_tokens']} of them reasoning)"
    else:
        tokens = "usage not reported"
    return f"{tokens} · {answer.seconds:.2f} s · {answer.profile} ({answer.model or 'default model'})"


def _show_diff(document, answer: str) -> None:
    """The diff of the input and the (cleaned) answer on stdout; 'no changes' on stderr when equal."""
    import sys

    from . import render
    from .diffview import write_diff

    before = document.text
    after = answer if answer.endswith("\n") or not before.endswith("\n") else answer + "\n"
    label = {"<stdin>": "stdin", "<text>": "text"}.get(document.label, document.label)
    terminal = stdout_is_terminal()
    if terminal:
        sys.stdout.write("\n")  # a blank line between the rendered answer and its diff
    changed = write_diff(before, after, stream=sys.stdout, terminal=terminal, from_label=label, to_label=label)
    if not changed:
        status.note("no changes")


def _write_output(output: str, text: str, inputs: Sequence[str]) -> None:
    """-o: replace FILE atomically; an in-place edit keeps the original as FILE.bak; never write nothing.

    A write that fails after the answer was paid for (a full disk) does not lose it: the
    answer goes to stdout, which -o left empty, and the error says so (exit 74).
    """
    from .atomic import atomic_write_text, keep_backup
    from .errors import OutputError

    target = Path(output)
    sources = {Path(f).resolve() for f in inputs if f != "-"}
    body = text if text.endswith("\n") else text + "\n"
    try:
        if target.exists() and target.resolve() in sources:
            backup = keep_backup(target, target.read_bytes())
            status.note(f"{output} rewritten in place; the original is kept in {backup}")
        atomic_write_text(output, body)
    except OSError as exc:
        write_stdout(body)
        raise OutputError(f"-o {output}: cannot write: {exc.strerror or exc}; the answer was printed on stdout instead") from None
    if stderr_is_terminal():
        status.note(f"wrote {output} ({len(text.encode())} bytes)")


def _check_output_path(output: str) -> None:
    """What can be known about -o FILE before a request is paid for: its directory exists and is writable."""
    import os

    path = Path(output)
    if path.is_dir():
        raise UsageError(f"-o {output}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"-o {output}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"-o {output}: directory {parent} is not writable")


# -- styles -----------------------------------------------------------------------


def list_styles(config_path: str | None) -> None:
    from . import presets

    config = C.load(config_path)
    styles = presets.available(config.templates)
    rows = [("NAME", "SOURCE", "DESCRIPTION")]
    for style in styles.values():
        source = "built-in" if style.source == "built-in" else "template"
        if style.source != "built-in" and style.name in presets.BUILTIN_STYLES:
            source = "template (overrides built-in)"
        rows.append((style.name, source, style.description))
    width0 = max(len(r[0]) for r in rows)
    width1 = max(len(r[1]) for r in rows)
    write_stdout("".join(f"{a.ljust(width0)}  {b.ljust(width1)}  {c}".rstrip() + "\n" for a, b, c in rows))


def show_style(config_path: str | None, name: str) -> None:
    from . import presets

    config = C.load(config_path)
    write_stdout(presets.resolve(name, config.templates).instruction())


# -- profiles and models ----------------------------------------------------------


def list_profiles(config_path: str | None) -> None:
    from .providers import KINDS

    config = C.load(config_path)
    default = config.select().name
    rows = [("", "NAME", "PROVIDER", "MODEL", "BASE URL", "KEY")]
    for p in config.profiles.values():
        rows.append((
            "*" if p.name == default else "",
            p.name,
            KINDS[p.provider].name,
            p.model or "(server default)",
            p.base_url or "",
            p.key_status(),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    write_stdout("\n".join(lines) + "\n")
    if not config.exists:
        status.note(f"no config file at {config.path}: built-in profiles only (llmcli config init)")


def list_models(config_path: str | None, profile_name: str | None) -> None:
    from .call import Call
    from .providers import backend_for

    from .errors import ConnectError

    call = Call.resolve(CallFlags(profile=profile_name, config_path=config_path))
    backend = backend_for(call.endpoint())
    try:
        ids = backend.list_models()
    except ConnectError as err:
        raise call.no_provider(err) from None
    write_stdout("".join(f"{i}\n" for i in ids))


# -- config -----------------------------------------------------------------------


def config_path(explicit: str | None) -> None:
    path = C.config_path(explicit)
    write_stdout(f"{path}\n")
    if not path.exists():
        status.note("the file does not exist yet (llmcli config init)")


def config_show(explicit: str | None) -> None:
    import tomli_w

    config = C.load(explicit)
    where = str(config.path) + ("" if config.exists else " (missing: built-in profiles only)")
    write_stdout(f"# {where}\n" + tomli_w.dumps(C.masked_dict(config)))


def config_init(explicit: str | None, *, force: bool, profile: str | None) -> None:
    path = C.config_path(explicit)
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    builtins = C.Config(path, False, None, C.builtin_profiles())
    name = profile or builtins.detect_default()
    if name not in builtins.profiles:
        builtins.profile(name)  # raises the "unknown profile" error with the list
    path.parent.mkdir(parents=True, exist_ok=True)
    from .atomic import atomic_write_text

    atomic_write_text(path, C.starter_toml(name), mode=0o600)
    status.note(f"wrote {path} (default profile: {name})")


def config_validate(explicit: str | None) -> None:
    config = C.load(explicit, strict=False)
    if not config.exists:
        write_stdout(f"{config.path}: no file; built-in profiles only — nothing to check\n")
        return
    if config.problems:
        for problem in config.problems:
            status.error(problem)
        raise SystemExitCode(2)
    write_stdout(f"{config.path}: ok ({len(config.profiles)} profiles)\n")


class SystemExitCode(UsageError):
    """Problems already reported line by line; exit non-zero without another message."""

    def __init__(self, code: int) -> None:
        super().__init__("")
        self.exit_code = code


def config_example() -> None:
    """The documented example shipped in the package: what a pip-installed user has instead of the repo's file."""
    write_stdout(C.example_text())
