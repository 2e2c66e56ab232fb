"""The command line: parse, build a Request, hand it to the session, map errors to exit codes.

Kept thin on purpose: reading input is ``inputs``, the prompt layout is
``prompt``, the call is ``session``, output is ``render``.  Everything but
Typer is imported inside the commands, so ``llmcli --help`` loads no SDK,
no Rich renderer and no TOML parser.
"""

from __future__ import annotations

import os
import sys
from typing import Any, List, Optional

import typer
from typer.core import TyperGroup

from . import __version__

DEFAULT_COMMAND = "run"
# Options that belong to the whole program; accepted anywhere before "--".
GLOBAL_VALUE_OPTIONS = ("--config",)
GLOBAL_FLAGS = ("--debug",)

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 provider or network error, 2 usage/config/input error, "
    "3 batch partly failed, 70 internal error, 130 interrupted, 141 stdout closed."
)


class DefaultCommandGroup(TyperGroup):
    """A group whose first positional word may be text for the default command.

    ``llmcli "text"`` and ``llmcli config show`` live side by side: when the
    first word is not a command (nor --help/--version), the default command's
    name is put in front.  Global options (--config, --debug) may appear
    anywhere before ``--``; they are moved to the front first, so
    ``llmcli "text" --debug`` works.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = _hoist_global_options(list(args))
        index = _first_non_global(args)
        first = args[index] if index < len(args) else None
        if first is None:
            if not _stdin_is_terminal():
                args.append(DEFAULT_COMMAND)  # `echo text | llmcli`
        elif (first not in self.commands or first == DEFAULT_COMMAND) and first not in (
            "--help", "-h", "--version", "-V"
        ):
            command_at = self._command_after_options(ctx, args, index)
            if command_at is not None:
                # `llmcli -p local models`: options written before a command go after it.
                args = args[:index] + [args[command_at]] + args[index:command_at] + args[command_at + 1:]
            else:
                # The default command's own name is text too: `llmcli run the tests` keeps "run".
                args.insert(index, DEFAULT_COMMAND)
        return super().parse_args(ctx, args)

    def _command_after_options(self, ctx: Any, args: list[str], start: int) -> int | None:
        """Index of a command name that follows only options (and their values), if any."""
        run = self.commands[DEFAULT_COMMAND]
        takes_value = {
            opt for p in run.params if p.param_type_name == "option" and not getattr(p, "is_flag", False)
            for opt in p.opts
        }
        i = start
        while i < len(args) and args[i].startswith("-") and args[i] not in ("-", "--"):
            i += 2 if args[i] in takes_value else 1
        if i < len(args) and i > start and args[i] in self.commands and args[i] != DEFAULT_COMMAND:
            return i
        return None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """`llmcli --help` shows the default command's options too: that is what people run."""
        run = self.commands[DEFAULT_COMMAND]
        formatter.write_usage("llmcli", "[OPTIONS] [INSTRUCTION]...")
        formatter.write_usage("llmcli", "COMMAND [ARGS]...", prefix="   or: ")
        formatter.write_paragraph()
        formatter.write_text(
            "Rewrite text with an LLM. The words form the instruction; text comes from "
            "-f FILE, '-' or a pipe. Output streams as Markdown on a terminal and as "
            "plain text in a pipe."
        )
        with ctx.scope(cleanup=False):
            run_ctx = run.make_context("llmcli", [], parent=ctx, resilient_parsing=True)
        params = [(p, run_ctx) for p in run.get_params(run_ctx) if p.param_type_name == "option"]
        params += [(p, ctx) for p in self.get_params(ctx) if p.name != "help"]
        rows = [r for r in (p.get_help_record(c) for p, c in params) if r]
        with formatter.section("Options"):
            formatter.write_dl(rows)
        self.format_commands(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(
            'Examples: llmcli "Explain DNS briefly" · echo "hey can u send it" | llmcli "Rewrite formally" · '
            "llmcli -p groq -f notes.txt \"Fix the spelling\" · llmcli profiles"
        )
        formatter.write_paragraph()
        formatter.write_text(EXIT_CODES_HELP)


def _hoist_global_options(args: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_FLAGS:
            front.append(arg)
        elif arg in GLOBAL_VALUE_OPTIONS and i + 1 < len(args):
            front.extend(args[i : i + 2])
            i += 1
        elif any(arg.startswith(opt + "=") for opt in GLOBAL_VALUE_OPTIONS):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _first_non_global(args: list[str]) -> int:
    i = 0
    while i < len(args):
        if args[i] in GLOBAL_FLAGS or any(args[i].startswith(o + "=") for o in GLOBAL_VALUE_OPTIONS):
            i += 1
        elif args[i] in GLOBAL_VALUE_OPTIONS:
            i += 2
        else:
            break
    return i


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is None or sys.stdin.isatty()
    except (AttributeError, ValueError):
        return True


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
app.add_typer(config_app, name="config")


class State:
    """What the group's options leave for the commands."""

    config: Optional[str] = None
    debug: bool = False


STATE = State()


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"llmcli {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    config: Optional[str] = typer.Option(
        None, "--config", metavar="PATH", help="Config file (default: $LLMCLI_CONFIG, else the user config dir)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    STATE.config = config
    STATE.debug = debug or bool(os.environ.get("LLMCLI_DEBUG"))


# -- the default command --------------------------------------------------------


@app.command(DEFAULT_COMMAND, hidden=True, context_settings={"help_option_names": ["-h", "--help"]})
def run(
    words: Optional[List[str]] = typer.Argument(None, metavar="[INSTRUCTION]...", help="Instruction words; '-' = stdin."),
    profile: Optional[str] = typer.Option(None, "--profile", "-p", metavar="NAME", help="Profile to use (llmcli profiles)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", metavar="MODEL", help="Model, overriding the profile's."),
    temperature: Optional[float] = typer.Option(None, "--temperature", "-t", min=0.0, max=2.0, metavar="T", help="Sampling temperature, 0-2."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, metavar="N", help="Cap on the answer's tokens."),
    system: Optional[str] = typer.Option(None, "--system", metavar="TEXT", help="System prompt, overriding the profile's."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.1, metavar="SECONDS", help="Seconds to wait for the server (per read)."),
    files: Optional[List[str]] = typer.Option(None, "--file", "-f", metavar="FILE", help="Read text from FILE ('-' = stdin); repeatable."),
    output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE", help="Write the answer to FILE (atomically) instead of stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (text, profile, provider, model, usage, seconds) at the end."),
    raw: bool = typer.Option(False, "--raw", help="Plain text even on a terminal."),
    markdown: bool = typer.Option(True, "--markdown/--no-markdown", help="Render Markdown on a terminal."),
    usage: bool = typer.Option(False, "--usage", "-u", help="Print tokens and time on stderr."),
) -> None:
    """Send the instruction and text to the model and stream the answer."""
    from .commands import run_once

    run_once(
        words=words or [], files=files or [], profile_name=profile, model=model, temperature=temperature,
        max_tokens=max_tokens, system=system, timeout=timeout, output=output, as_json=as_json, raw=raw,
        markdown=markdown, show_usage=usage, config_path=STATE.config,
    )


# -- profiles, models, config --------------------------------------------------------


@app.command("profiles")
def profiles_cmd() -> None:
    """List profiles: name, provider, model, base URL and whether a key is set (never the key)."""
    from .commands import list_profiles

    list_profiles(STATE.config)


@app.command("models")
def models_cmd(
    profile: Optional[str] = typer.Option(None, "--profile", "-p", metavar="NAME", help="Profile whose provider to ask."),
) -> None:
    """List the models the profile's provider offers."""
    from .commands import list_models

    list_models(STATE.config, profile)


@config_app.command("path")
def config_path_cmd() -> None:
    """Print the config file's path."""
    from .commands import config_path

    config_path(STATE.config)


@config_app.command("show")
def config_show_cmd() -> None:
    """Print the effective profiles as TOML, secrets masked."""
    from .commands import config_show

    config_show(STATE.config)


@config_app.command("init")
def config_init_cmd(
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    profile: Optional[str] = typer.Option(None, "--profile", "-p", metavar="NAME", help="Default profile to write (default: detected)."),
) -> None:
    """Write a starter config file."""
    from .commands import config_init

    config_init(STATE.config, force=force, profile=profile)


@config_app.command("validate")
def config_validate_cmd() -> None:
    """Check the config file and report every problem."""
    from .commands import config_validate

    config_validate(STATE.config)


# -- entry point ---------------------------------------------------------------------


def main(argv: Optional[List[str]] = None) -> int:
    """Run the CLI and return its exit code; never lets a traceback reach a user by accident."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    from . import errors as E

    STATE.config, STATE.debug = None, bool(os.environ.get("LLMCLI_DEBUG"))
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
        from .render import silence_stdout

        silence_stdout()
        return E.EXIT_BROKEN_PIPE
    except E.LlmcliError as exc:
        if STATE.debug:
            import traceback

            traceback.print_exc()
        if str(exc):
            _report(str(exc))
        return exc.exit_code
    except Exception as exc:  # a bug, not a user mistake
        if STATE.debug:
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
        from .render import silence_stdout

        silence_stdout()
        code = code or 141
    sys.exit(code)
