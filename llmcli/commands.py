"""What each CLI command does, apart from parsing (which is ``cli``).

Imported only when a command runs, so ``--help`` never pays for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from . import config as C
from . import status
from .errors import ConfigError, UsageError
from .render import write_stdout
from .terminal import stderr_is_terminal, stdout_is_terminal


# -- the default command --------------------------------------------------------


def run_once(
    *,
    words: Sequence[str],
    files: Sequence[str],
    profile_name: str | None,
    model: str | None,
    temperature: float | None,
    max_tokens: int | None,
    system: str | None,
    timeout: float | None,
    output: str | None,
    as_json: bool,
    raw: bool,
    markdown: bool,
    show_usage: bool,
    config_path: str | None,
    style_name: str | None = None,
    to: str | None = None,
    variables: Sequence[str] = (),
    clean: bool = True,
    diff: bool = False,
) -> None:
    from . import render
    from .inputs import gather
    from .providers.base import Message, Request
    from .session import complete, endpoint_for

    if as_json and raw:
        raise UsageError("--json and --raw do not go together")
    if diff and as_json:
        raise UsageError("--diff and --json do not go together")
    config = C.load(config_path)
    from . import presets

    style, values = presets.choose(style_name, to=to, variables=variables, templates=config.templates)
    if style is not None and style.profile and not profile_name:
        profile_name = style.profile
    profile = config.select(profile_name)
    inputs = gather(words, files)
    messages = _messages(inputs, style, values)
    source = "".join(d.text for d in messages.documents)
    if diff and len(messages.documents) != 1:
        raise UsageError("--diff needs exactly one text: stdin, a single -f FILE, or the words with -s STYLE")
    request = Request(
        messages=(Message("user", messages.user),),
        model=model or (style.model if style and style.model else None) or profile.model,
        system=_first(system, messages.system, profile.system, DEFAULT_SYSTEM_SENTINEL),
        temperature=_first(temperature, style.temperature if style else None, profile.temperature),
        max_tokens=max_tokens if max_tokens is not None else profile.max_tokens,
    )
    if output:
        _check_output_path(output)
    endpoint = endpoint_for(profile, timeout=timeout, config_path=config.path)
    # In a pipe, --diff prints the diff instead of the answer; on a terminal, after it.
    silent = as_json or bool(output) or (diff and not stdout_is_terminal())
    mode = render.choose_mode(raw=raw, markdown=markdown, silent=silent)
    writer = render.make_writer(mode)
    if clean and source:
        from .clean import CleaningWriter

        writer = CleaningWriter(writer, source)
    spinner = None
    if stderr_is_terminal():
        from .providers import KINDS
        from .spinner import Spinner, SpinningWriter

        spinner = Spinner(f"waiting for {KINDS[profile.provider].label} ({profile.name})").start()
        on_terminal = mode != render.SILENT and stdout_is_terminal()
        writer = SpinningWriter(writer, spinner, answer_on_terminal=on_terminal)

    def on_retry(err, wait: float, attempt: int) -> None:
        what = f"HTTP {err.status} {err.message}" if err.status else err.message
        line = f"{err.kind}: {' '.join(what.split())[:120]}; retry {attempt}/{profile.retries} in {wait:.1f} s"
        if spinner is not None:
            spinner.print_above(f"{status.PREFIX}: {line}")
        else:
            status.note(line)

    try:
        answer = complete(endpoint, request, retries=profile.retries, writer=writer, on_retry=on_retry)
    finally:
        if spinner is not None:
            spinner.stop()
    if clean and source:
        from .clean import clean_answer

        answer.text = clean_answer(answer.text, source)

    if output:
        _write_output(output, answer.text, files)
    elif not answer.text.strip() and not as_json:
        status.warn("the model returned no text")
    if as_json:
        write_stdout(json.dumps(answer.as_json(), ensure_ascii=False))
    if diff:
        _show_diff(messages.documents[0], answer.text)
    if show_usage:
        u = (answer.usage.as_dict() if answer.usage else {})
        tokens = (
            f"{u.get('input_tokens')} in + {u.get('output_tokens')} out = {u.get('total_tokens')} tokens"
            if answer.usage else "usage not reported"
        )
        status.note(f"{tokens} · {answer.seconds:.2f} s · {answer.profile} ({answer.model or 'default model'})")
    if answer.finish_reason in ("length", "max_tokens", "MAX_TOKENS"):
        status.warn("the answer was cut at the token limit (raise --max-tokens)")


DEFAULT_SYSTEM_SENTINEL = object()


def _first(*values):
    """The first value that is not None; the sentinel stands for the default system prompt."""
    for value in values:
        if value is DEFAULT_SYSTEM_SENTINEL:
            from .prompt import DEFAULT_SYSTEM

            return DEFAULT_SYSTEM
        if value is not None:
            return value
    return None


class _Composed:
    def __init__(self, system, user: str, documents) -> None:
        self.system, self.user, self.documents = system, user, tuple(documents)


def _messages(inputs, style, values: dict[str, str]) -> _Composed:
    """Words are the instruction, or with a style and no other source, the text itself."""
    from . import presets
    from .inputs import Document
    from .prompt import user_message

    if style is None:
        return _Composed(None, user_message(inputs), inputs.documents)
    documents, extra = inputs.documents, inputs.instruction
    if not documents:
        documents, extra = (Document("<text>", inputs.instruction),), ""
    composed = presets.compose(style, documents, extra=extra, variables=values)
    return _Composed(composed.system, composed.user, documents)


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
    """-o: replace FILE atomically; an in-place edit keeps the original as FILE.bak; never write nothing."""
    from .atomic import atomic_write_text, keep_backup
    from .errors import StreamError

    if not text.strip():
        raise StreamError(f"the model returned no text; {output} left unchanged")
    target = Path(output)
    sources = {Path(f).resolve() for f in inputs if f != "-"}
    if target.exists() and target.resolve() in sources:
        backup = keep_backup(target, target.read_bytes())
        status.note(f"{output} rewritten in place; the original is kept in {backup}")
    atomic_write_text(output, text if text.endswith("\n") else text + "\n")
    if stderr_is_terminal():
        status.note(f"wrote {output} ({len(text.encode())} bytes)")


def _check_output_path(output: str) -> None:
    path = Path(output)
    if path.is_dir():
        raise UsageError(f"-o {output}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"-o {output}: directory {parent} does not exist")


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
    from .providers import backend_for
    from .session import endpoint_for

    config = C.load(config_path)
    profile = config.select(profile_name)
    backend = backend_for(endpoint_for(profile, config_path=config.path))
    ids = backend.list_models()
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
