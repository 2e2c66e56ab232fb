"""The command line: its options and commands, and the mapping of every error to an exit code.

Kept thin on purpose: what a command does is ``commands``; parsing quirks
(a default command beside subcommands) are ``default_group``.  Everything but
Typer is imported inside the commands, so ``llmcli --help`` loads no SDK,
no Rich renderer and no TOML parser.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from .default_group import DEFAULT_COMMAND, GLOBALS, DefaultCommandGroup

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
PROFILE = typer.Option(None, "--profile", "-p", metavar="NAME", help="Profile to use (llmcli profiles).")
MODEL = typer.Option(None, "--model", "-m", metavar="MODEL", help="Model, overriding the profile's.")
TEMPERATURE = typer.Option(None, "--temperature", "-t", min=0.0, max=2.0, metavar="T", help="Sampling temperature, 0-2.")
TIMEOUT = typer.Option(None, "--timeout", min=0.1, metavar="SECONDS", help="Seconds to wait for the server (per read).")
VARIABLES = typer.Option(None, "--var", "-V", metavar="NAME=VALUE", help="Set a template variable; repeatable.")


# -- the default command --------------------------------------------------------


@app.command(DEFAULT_COMMAND, hidden=True, context_settings={"help_option_names": ["-h", "--help"]})
def run(
    words: Optional[List[str]] = typer.Argument(None, metavar="[INSTRUCTION]...", help="Instruction words; '-' = stdin."),
    profile: Optional[str] = PROFILE,
    model: Optional[str] = MODEL,
    temperature: Optional[float] = TEMPERATURE,
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="N", help="Cap on the answer's tokens."),
    system: Optional[str] = typer.Option(None, "--system", metavar="TEXT", help="System prompt, overriding the profile's."),
    timeout: Optional[float] = TIMEOUT,
    files: Optional[List[str]] = typer.Option(None, "--file", "-f", metavar="FILE", help="Read text from FILE ('-' = stdin); repeatable."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the answer to FILE (atomically) instead of stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (text, profile, provider, model, usage, seconds) at the end."),
    raw: bool = typer.Option(False, "--raw", help="Plain text even on a terminal."),
    markdown: bool = typer.Option(True, "--markdown/--no-markdown", help="Render Markdown on a terminal."),
    usage: bool = typer.Option(False, "--usage", "-u", help="Print tokens and time on stderr."),
    style: Optional[str] = typer.Option(None, "--style", "-s", metavar="NAME", help="Rewrite with a style or template (llmcli styles); words are then the text."),
    to: Optional[str] = typer.Option(None, "--to", metavar="LANG", help="Target language (translate; with another style: write the result in LANG)."),
    variables: Optional[List[str]] = VARIABLES,
    clean: bool = typer.Option(True, "--clean/--no-clean", help="Remove a fence or quotes the model wrapped around the whole answer."),
    diff: bool = typer.Option(False, "--diff", help="Show what changed: coloured on a terminal, a unified diff in a pipe."),
) -> None:
    """Send the instruction and text to the model and stream the answer."""
    from .commands import run_once

    run_once(
        words=words or [], files=files or [], profile_name=profile, model=model, temperature=temperature,
        max_tokens=max_tokens, system=system, timeout=timeout, output=output, as_json=as_json, raw=raw,
        markdown=markdown, show_usage=usage, config_path=GLOBALS.config, style_name=style, to=to,
        variables=variables or [], clean=clean, diff=diff,
    )


# -- batch ---------------------------------------------------------------------------


@app.command("batch", context_settings={"help_option_names": ["-h", "--help"]})
def batch_cmd(
    paths: Optional[List[str]] = typer.Argument(None, metavar="[PATH|DIR|GLOB]...", help="Files, directories (recursed) or quoted globs ('docs/**/*.md')."),
    from_file: Optional[str] = typer.Option(None, "--from", metavar="FILE", help="Read paths, one per line, from FILE ('-' = stdin)."),
    include: Optional[List[str]] = typer.Option(None, "--include", metavar="GLOB", help="Only files matching GLOB in directories and globs; repeatable."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", metavar="GLOB", help="Skip files matching GLOB; repeatable."),
    out: Optional[str] = typer.Option(None, "--out", metavar="DIR", help="Write answers under DIR, mirroring the input tree."),
    suffix: Optional[str] = typer.Option(None, "--suffix", metavar="S", help="Write a.txt's answer to a<S>.txt beside it."),
    in_place: bool = typer.Option(False, "--in-place", help="Replace each file (keeps FILE.bak)."),
    no_backup: bool = typer.Option(False, "--no-backup", help="With --in-place: keep no backup."),
    backup_dir: Optional[str] = typer.Option(None, "--backup-dir", metavar="DIR", help="With --in-place: put backups under DIR."),
    style: Optional[str] = typer.Option(None, "--style", "-s", metavar="NAME", help="Style or template (llmcli styles)."),
    instruction: Optional[str] = typer.Option(None, "--instruction", "-i", metavar="TEXT", help="Instruction (with -s: added to the style's)."),
    to: Optional[str] = typer.Option(None, "--to", metavar="LANG", help="Target language (translate)."),
    variables: Optional[List[str]] = VARIABLES,
    profile: Optional[str] = PROFILE,
    model: Optional[str] = MODEL,
    temperature: Optional[float] = TEMPERATURE,
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="N", help="Cap on each answer's tokens."),
    system: Optional[str] = typer.Option(None, "--system", metavar="TEXT", help="System prompt, overriding the style's."),
    timeout: Optional[float] = TIMEOUT,
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, max=256, metavar="N", help="Files at a time (default: the profile's concurrency, else 4)."),
    rpm: Optional[float] = typer.Option(None, "--rpm", min=0.001, metavar="N", help="At most N requests per minute (default: the profile's rpm)."),
    retries: Optional[int] = typer.Option(None, "--retries", min=0, max=20, metavar="N", help="Retries of 429/5xx/timeouts per request (default 4)."),
    max_wait: Optional[float] = typer.Option(None, "--max-wait", min=0.0, metavar="SECONDS", help="Longest wait between retries, Retry-After included (default 60)."),
    max_input_chars: Optional[int] = typer.Option(None, "--max-input-chars", min=200, metavar="N", help="Send longer files in chunks (default: the profile's, else 24000)."),
    markdown_safe: Optional[bool] = typer.Option(None, "--markdown-safe/--no-markdown-safe", help="Send only prose; keep code, front matter, HTML, link targets (default: on for .md)."),
    clean: bool = typer.Option(True, "--clean/--no-clean", help="Remove a fence or quotes wrapped around a whole answer."),
    force: bool = typer.Option(False, "--force", help="Redo files already done by an earlier run."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would run, with a token estimate; make no request."),
    diff: bool = typer.Option(False, "--diff", help="Print a unified diff per file instead of writing."),
    report: Optional[str] = typer.Option(None, "--report", metavar="FILE.jsonl", help="Write one JSON line per file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only failures."),
) -> None:
    """Rewrite many files concurrently, safely and resumably."""
    from .batch.command import BatchOptions, run_batch

    code = run_batch(BatchOptions(
        paths=paths or [], from_file=from_file, include=include or [], exclude=exclude or [], out=out,
        suffix=suffix, in_place=in_place, backup=not no_backup, backup_dir=backup_dir, style=style, to=to,
        variables=variables or [], instruction=instruction, profile=profile, model=model,
        temperature=temperature, max_tokens=max_tokens, system=system, timeout=timeout, jobs=jobs, rpm=rpm,
        retries=retries, max_wait=max_wait, max_input_chars=max_input_chars, markdown_safe=markdown_safe,
        clean=clean, force=force, dry_run=dry_run, diff=diff, report=report, quiet=quiet,
        config_path=GLOBALS.config,
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
    profile: Optional[str] = typer.Option(None, "--profile", "-p", metavar="NAME", help="Profile whose provider to ask."),
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
def styles_show_cmd(name: str = typer.Argument(..., metavar="NAME", help="Style or template name.")) -> None:
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
    profile: Optional[str] = typer.Option(None, "--profile", "-p", metavar="NAME", help="Default profile to write (default: detected)."),
) -> None:
    """Write a starter config file."""
    from .commands import config_init

    config_init(GLOBALS.config, force=force, profile=profile)


@config_app.command("validate")
def config_validate_cmd() -> None:
    """Check the config file and report every problem."""
    from .commands import config_validate

    config_validate(GLOBALS.config)


# -- jobs: provider batch engines (llmcli/jobs/) ------------------------------------------

jobs_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
    help="Provider batch jobs (llmcli batch --provider-batch): list, status, fetch, cancel, retry.",
)
app.add_typer(jobs_app, name="jobs")
JOB = typer.Argument(..., metavar="JOB", help="Job id (or a unique start of one; llmcli jobs list).")


@jobs_app.command("list")
def jobs_list_cmd(as_json: bool = typer.Option(False, "--json", help="One JSON array.")) -> None:
    """Local jobs: id, profile, state, counts, age, expiry (no network)."""
    from .jobs.commands import list_jobs

    raise typer.Exit(list_jobs(as_json=as_json))


@jobs_app.command("status")
def jobs_status_cmd(
    job: str = JOB,
    wait: bool = typer.Option(False, "--wait", help="Poll until every batch has ended (Ctrl-C is safe)."),
    interval: Optional[float] = typer.Option(None, "--interval", min=1.0, metavar="SECONDS", help="First wait between polls (default 30; grows by half each time, up to 10 min)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Poll each unfinished provider batch once; download results of those that ended."""
    from .jobs.commands import show_status

    raise typer.Exit(show_status(job, wait=wait, interval=interval, as_json=as_json, config_path=GLOBALS.config))


@jobs_app.command("fetch")
def jobs_fetch_cmd(
    job: str = JOB,
    force: bool = typer.Option(False, "--force", help="Also overwrite sources changed since submission, and rewrite files already written."),
    report: Optional[str] = typer.Option(None, "--report", metavar="FILE.jsonl", help="Write one JSON line per file."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only failures."),
) -> None:
    """Write every finished file (atomically; again and again: nothing is rewritten)."""
    from .jobs.commands import fetch_job

    raise typer.Exit(fetch_job(job, force=force, report=report, quiet=quiet, config_path=GLOBALS.config))


@jobs_app.command("cancel")
def jobs_cancel_cmd(job: str = JOB) -> None:
    """Ask the provider to cancel every unfinished batch of the job."""
    from .jobs.commands import cancel_job

    raise typer.Exit(cancel_job(job, config_path=GLOBALS.config))


@jobs_app.command("retry")
def jobs_retry_cmd(
    job: str = JOB,
    only: Optional[str] = typer.Option(None, "--only", metavar="STATES", help="Which failures: errored,expired,canceled,missing (default errored,expired,missing)."),
    sync: bool = typer.Option(False, "--sync", help="Real-time calls instead of a new provider batch."),
) -> None:
    """Send the failed requests again, in a new provider batch of the same job."""
    from .jobs.commands import retry_job

    raise typer.Exit(retry_job(job, only=only, sync=sync, config_path=GLOBALS.config))


# -- entry point ---------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI and return its exit code; never lets a traceback reach a user by accident."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    from . import errors as E

    GLOBALS.config, GLOBALS.debug = None, bool(os.environ.get("LLMCLI_DEBUG"))
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="llmcli", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer_exc.Exit as exc:
        return exc.exit_code
    except click_exc.NoArgsIsHelpError as exc:
        exc.show()
        return E.EXIT_USAGE
    except click_exc.ClickException as exc:
        # Click's three-line usage block, folded into our one-line error format.
        _report(f"{exc.format_message()} (see 'llmcli --help')")
        return E.EXIT_USAGE
    except (typer_exc.Abort, KeyboardInterrupt, E.Interrupted):
        _report("interrupted")
        return E.EXIT_INTERRUPTED
    except (E.StdoutClosed, BrokenPipeError):
        from .terminal import silence_stdout

        silence_stdout()
        return E.EXIT_BROKEN_PIPE
    except E.LlmcliError as exc:
        if GLOBALS.debug:
            import traceback

            traceback.print_exc()
        if str(exc):
            _report(str(exc))
        return exc.exit_code
    except Exception as exc:  # a bug, not a user mistake
        if GLOBALS.debug:
            raise
        _report(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return E.EXIT_INTERNAL


def _report(message: str) -> None:
    from .status import error

    error(message)


def entry() -> None:
    """Console-script entry point."""
    code = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        from .terminal import silence_stdout

        silence_stdout()
        code = code or 141
    sys.exit(code)
