"""The command line: its options and commands, and the mapping of every error to an exit code.

Kept thin on purpose: what a command does is ``commands``; parsing quirks
(a default command beside subcommands) are ``default_group``.  Everything but
Typer is imported inside the commands, so ``llmcli --help`` loads no SDK,
no Rich renderer and no TOML parser.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

from .completion import profile_names, shell_names, style_names
from .default_group import DEFAULT_COMMAND, GLOBALS, DefaultCommandGroup

if TYPE_CHECKING:
    from .call import CallFlags

app = typer.Typer(
    cls=DefaultCommandGroup,
    rich_markup_mode=None,  # plain help: measured ~1.7x faster than Rich-formatted help
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Rewrite text with an LLM.",
)
config_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True, help="Show, create or check the config file.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
styles_app = typer.Typer(
    rich_markup_mode=None, help="List reformulation styles, or show one.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_app, name="config")
app.add_typer(styles_app, name="styles")


# Options the default command and batch share (one definition, one help text).
PROFILE = typer.Option(None, "--profile", "-p", metavar="NAME", help="Profile to use (llmcli profiles).",
                       autocompletion=profile_names)
MODEL = typer.Option(None, "--model", "-m", metavar="MODEL", help="Model, overriding the profile's.")
TEMPERATURE = typer.Option(None, "--temperature", "-t", min=0.0, max=2.0, metavar="T", help="Sampling temperature, 0-2.")
TIMEOUT = typer.Option(None, "--timeout", min=0.1, metavar="SECONDS", help="Seconds to wait for the server (per read).")
MAX_TOKENS = typer.Option(None, "--max-tokens", min=1, metavar="N", help="Cap on the answer's tokens.")
SYSTEM = typer.Option(None, "--system", metavar="TEXT", help="System prompt, overriding the style's and the profile's.")
RETRIES = typer.Option(None, "--retries", min=0, max=20, metavar="N", help="Retries of 429/5xx/timeouts (default: the profile's retries, else 2).")
MAX_WAIT = typer.Option(None, "--max-wait", min=0.0, metavar="SECONDS", help="Longest wait before a retry, Retry-After included (default 60).")
CLEAN = typer.Option(True, "--clean/--no-clean", help="Remove a fence or quotes the model wrapped around the whole answer.")
CACHE = typer.Option(None, "--cache/--no-cache", help="Answer an identical earlier request from the history (default: the profile's cache).")
NO_LOG = typer.Option(False, "--no-log", help="Do not record this call in the history.")
REASONING = typer.Option(None, "--reasoning", metavar="LEVEL", help="Reasoning effort: off, low, medium, high, max (default: the profile's, else the model's).")
VARIABLES = typer.Option(None, "--var", "-V", metavar="NAME=VALUE", help="Set a template variable; repeatable.")


def _call_flags(params: dict) -> CallFlags:
    """The call settings among a command's parameters (named as CallFlags' fields), for llmcli.call.

    Both the default command and batch pass their ``locals()``: a setting added to
    CallFlags and given as an option of the same name reaches both modes with no
    further code.
    """
    from dataclasses import fields

    from .call import CallFlags

    values = {f.name: params[f.name] for f in fields(CallFlags) if f.name in params}
    values["variables"] = tuple(values.get("variables") or ())
    return CallFlags(config_path=GLOBALS.config, **values)


# -- the default command --------------------------------------------------------


@app.command(DEFAULT_COMMAND, hidden=True, context_settings={"help_option_names": ["-h", "--help"]})
def run(
    words: list[str] | None = typer.Argument(None, metavar="[INSTRUCTION]...", help="Instruction words; '-' = stdin."),
    profile: str | None = PROFILE,
    model: str | None = MODEL,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = MAX_TOKENS,
    system: str | None = SYSTEM,
    timeout: float | None = TIMEOUT,
    retries: int | None = RETRIES,
    max_wait: float | None = MAX_WAIT,
    reasoning: str | None = REASONING,
    show_reasoning: bool | None = typer.Option(None, "--show-reasoning/--hide-reasoning", help="Print the model's thinking dim on stderr (with --json: in its 'reasoning' field)."),
    files: list[str] | None = typer.Option(None, "--file", "-f", metavar="FILE", help="Read text from FILE ('-' = stdin); repeatable."),
    output: str | None = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the answer to FILE (atomically) instead of stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (text, profile, provider, model, usage, seconds) at the end."),
    raw: bool = typer.Option(False, "--raw", help="Plain text even on a terminal."),
    markdown: bool = typer.Option(True, "--markdown/--no-markdown", help="Render Markdown on a terminal."),
    usage: bool = typer.Option(False, "--usage", "-u", help="Print tokens and time on stderr."),
    style: str | None = typer.Option(None, "--style", "-s", metavar="NAME", help="Rewrite with a style or template (llmcli styles); words are then the text.",
                                        autocompletion=style_names),
    to: str | None = typer.Option(None, "--to", metavar="LANG", help="Target language (translate; with another style: write the result in LANG)."),
    variables: list[str] | None = VARIABLES,
    clean: bool = CLEAN,
    diff: bool = typer.Option(False, "--diff", help="Show what changed: coloured on a terminal, a unified diff in a pipe."),
    continue_: bool = typer.Option(False, "--continue", "-c", help="Refine the last answer: the new words (or -s STYLE) continue its conversation."),
    cid: str | None = typer.Option(None, "--cid", metavar="ID", help="Continue from an older answer (an id from llmcli history)."),
    cache: bool | None = CACHE,
    no_log: bool = NO_LOG,
) -> None:
    """Send the instruction and text to the model and stream the answer."""
    from .single import RunOptions, run_once

    if continue_ and cid:
        from .errors import UsageError

        raise UsageError("-c continues the last conversation, --cid ID an older one: give one of them")
    run_once(RunOptions(
        call=_call_flags(locals()), words=words or [], files=files or [], output=output, as_json=as_json, raw=raw,
        markdown=markdown, show_usage=usage, clean=clean, diff=diff, no_log=no_log, cache=cache,
        resume="last" if continue_ else cid,
    ))


# -- batch ---------------------------------------------------------------------------


@app.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
def batch_cmd(
    paths: list[str] | None = typer.Argument(None, metavar="[PATH|DIR|GLOB]...", help="Files, directories (recursed) or quoted globs ('docs/**/*.md')."),
    from_file: str | None = typer.Option(None, "--from", metavar="FILE", help="Read paths, one per line, from FILE ('-' = stdin)."),
    include: list[str] | None = typer.Option(None, "--include", metavar="GLOB", help="Only files matching GLOB in directories and globs; repeatable."),
    exclude: list[str] | None = typer.Option(None, "--exclude", metavar="GLOB", help="Skip files matching GLOB; repeatable."),
    out: str | None = typer.Option(None, "--out", metavar="DIR", help="Write answers under DIR, mirroring the input tree."),
    suffix: str | None = typer.Option(None, "--suffix", metavar="S", help="Write a.txt's answer to a<S>.txt beside it."),
    in_place: bool = typer.Option(False, "--in-place", help="Replace each file (keeps FILE.bak)."),
    no_backup: bool = typer.Option(False, "--no-backup", help="With --in-place: keep no backup."),
    backup_dir: str | None = typer.Option(None, "--backup-dir", metavar="DIR", help="With --in-place: put backups under DIR."),
    style: str | None = typer.Option(None, "--style", "-s", metavar="NAME", help="Style or template (llmcli styles).",
                                        autocompletion=style_names),
    instruction: str | None = typer.Option(None, "--instruction", "-i", metavar="TEXT", help="Instruction (with -s: added to the style's)."),
    to: str | None = typer.Option(None, "--to", metavar="LANG", help="Target language (translate)."),
    variables: list[str] | None = VARIABLES,
    profile: str | None = PROFILE,
    model: str | None = MODEL,
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = MAX_TOKENS,
    system: str | None = SYSTEM,
    timeout: float | None = TIMEOUT,
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, max=256, metavar="N", help="Files at a time (default: the profile's concurrency, else 4)."),
    rpm: float | None = typer.Option(None, "--rpm", min=0.001, metavar="N", help="At most N requests per minute (default: the profile's rpm)."),
    retries: int | None = RETRIES,
    max_wait: float | None = MAX_WAIT,
    reasoning: str | None = REASONING,
    max_input_chars: int | None = typer.Option(None, "--max-input-chars", min=200, metavar="N", help="Send longer files in chunks (default: the profile's, else 24000)."),
    markdown_safe: bool | None = typer.Option(None, "--markdown-safe/--no-markdown-safe", help="Send only prose; keep code, front matter, HTML, link targets (default: on for .md)."),
    clean: bool = CLEAN,
    force: bool = typer.Option(False, "--force", help="Redo files already done by an earlier run."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would run, with a token estimate; make no request."),
    diff: bool = typer.Option(False, "--diff", help="Print a unified diff per file instead of writing."),
    report: str | None = typer.Option(None, "--report", metavar="FILE.jsonl", help="Write one JSON line per file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only failures and the summary line."),
    cache: bool | None = CACHE,
    no_log: bool = NO_LOG,
    provider_batch: bool = typer.Option(False, "--provider-batch", help="Submit to the provider's batch engine (about half the price, within 24 h); prints the job id (llmcli jobs)."),
) -> None:
    """Rewrite many files concurrently, safely and resumably."""
    from .batch.command import BatchOptions, run_batch

    code = run_batch(BatchOptions(
        call=_call_flags(locals()), paths=paths or [], from_file=from_file, include=include or [], exclude=exclude or [],
        out=out, suffix=suffix, in_place=in_place, backup=not no_backup, backup_dir=backup_dir,
        instruction=instruction, jobs=jobs, rpm=rpm, max_input_chars=max_input_chars,
        markdown_safe=markdown_safe, clean=clean, force=force, dry_run=dry_run, diff=diff, report=report,
        quiet=quiet, cache=cache, no_log=no_log, provider_batch=provider_batch,
    ))
    if code:
        raise typer.Exit(code)


# -- profiles, models, config --------------------------------------------------------


@app.command("profiles")
def profiles_cmd() -> None:
    """List profiles: name, provider, model, base URL and whether a key is set (never the key)."""
    from .commands import list_profiles

    list_profiles(GLOBALS.config)


@app.command("models")
def models_cmd(
    profile: str | None = typer.Option(None, "--profile", "-p", metavar="NAME", help="Profile whose provider to ask.",
                                          autocompletion=profile_names),
) -> None:
    """List the models the profile's provider offers."""
    from .commands import list_models

    list_models(GLOBALS.config, profile)


@styles_app.callback(invoke_without_command=True)
def styles_cmd(ctx: typer.Context) -> None:
    """List the built-in styles and your templates."""
    if ctx.invoked_subcommand is None:
        from .commands import list_styles

        list_styles(GLOBALS.config)


@styles_app.command("show")
def styles_show_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="Style or template name.", autocompletion=style_names),
) -> None:
    """Print a style's full instruction (system and user prompts)."""
    from .commands import show_style

    show_style(GLOBALS.config, name)


@config_app.command("path")
def config_path_cmd() -> None:
    """Print the config file's path."""
    from .commands import config_path

    config_path(GLOBALS.config)


@config_app.command("show")
def config_show_cmd() -> None:
    """Print the effective profiles as TOML, secrets masked."""
    from .commands import config_show

    config_show(GLOBALS.config)


@config_app.command("init")
def config_init_cmd(
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    profile: str | None = typer.Option(None, "--profile", "-p", metavar="NAME", help="Default profile to write (default: detected).",
                                          autocompletion=profile_names),
) -> None:
    """Write a starter config file."""
    from .commands import config_init

    config_init(GLOBALS.config, force=force, profile=profile)


@config_app.command("validate")
def config_validate_cmd() -> None:
    """Check the config file and report every problem."""
    from .commands import config_validate

    config_validate(GLOBALS.config)


@config_app.command("example")
def config_example_cmd() -> None:
    """Print an example config documenting every key."""
    from .commands import config_example

    config_example()


# -- last (the history's own commands: llmcli/history_cli.py, loaded on demand) ----------


@app.command("last")
def last_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the whole record as JSON."),
    diff: bool = typer.Option(False, "--diff", help="Show what the last answer changed in its input."),
) -> None:
    """Print the last answer again (no request is made)."""
    from .history_commands import last

    last(as_json=as_json, diff=diff)


# -- shell completion ----------------------------------------------------------------


@app.command("completion")
def completion_cmd(
    shell: str = typer.Argument(..., metavar="SHELL", help="bash, zsh or fish.", autocompletion=shell_names),
    install: bool = typer.Option(False, "--install", help="Install it where the shell looks (bash, zsh: edits rc)."),
) -> None:
    """Print the completion script for bash, zsh or fish (or --install it)."""
    from .completion import show

    show(shell, install=install)


# -- entry point ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; never lets a traceback reach a user by accident."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    from . import errors as E
    from . import signals

    GLOBALS.config, GLOBALS.debug = None, bool(os.environ.get("LLMCLI_DEBUG"))
    command = typer.main.get_command(app)
    try:
        with signals.sigterm_as_interrupt():
            result = command.main(args=argv, prog_name="llmcli", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer_exc.Exit as exc:
        return exc.exit_code
    except click_exc.NoArgsIsHelpError as exc:
        exc.show()
        return E.EXIT_USAGE
    except click_exc.ClickException as exc:
        # Click's three-line usage block, folded into our one-line error format.
        hint = getattr(command, "text_hint", lambda: "")() if isinstance(exc, click_exc.NoSuchOption) else ""
        _report(f"{exc.format_message()} ({hint or 'see ' + repr('llmcli --help')})")
        return E.EXIT_USAGE
    except (typer_exc.Abort, KeyboardInterrupt, E.Interrupted):
        _report(signals.interrupted_word())
        return signals.interrupted_exit_code()
    except (E.StdoutClosed, BrokenPipeError) as exc:
        from .terminal import silence_stdout

        silence_stdout()
        if isinstance(exc, E.StdoutClosed) and str(exc):
            _report(str(exc))  # stdout closed from the start (>&-): say so; a vanished reader needs no word
        return E.EXIT_BROKEN_PIPE
    except E.LlmcliError as exc:
        if GLOBALS.debug:
            _print_traceback()
        if str(exc):
            _report(str(exc))
        return exc.exit_code
    except Exception as exc:  # a bug, not a user mistake
        if GLOBALS.debug:
            _print_traceback()
        detail = " ".join(E.scrub(f"{type(exc).__name__}: {exc}").split())
        if len(detail) > 300:
            detail = detail[:299] + "…"
        _report(f"internal error: {detail} (run with --debug for the traceback)")
        return E.EXIT_INTERNAL


def _report(message: str) -> None:
    from .status import error

    error(message)


def _print_traceback() -> None:
    """--debug: the traceback on stderr, with every secret llmcli holds masked (an exception may quote a key)."""
    import traceback

    from .errors import scrub

    try:
        sys.stderr.write(scrub(traceback.format_exc()))
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def entry() -> None:
    """Console-script entry point."""
    from .terminal import guard_closed_streams

    guard_closed_streams()  # `llmcli … >&-` / `<&-`: stand-ins, before anything can print or read
    code = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        from .terminal import silence_stdout

        silence_stdout()
        code = code or 141
    sys.exit(code)
