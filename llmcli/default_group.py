"""The root command group: a default command beside subcommands, and the help people see.

``llmcli "text"`` and ``llmcli config show`` live side by side.  Click (and so
Typer) wants a subcommand name first; this group puts the default command's
name in front when the first word is not a command, moves the program-wide
options to the front wherever they were written, and moves options written
before a real command (``llmcli -p groq models``) after it.  It also makes
``llmcli --help`` show the default command's options, which is what people run.
"""

from __future__ import annotations

import sys
from typing import Any

from dataclasses import dataclass

from typer.core import TyperGroup

from .terminal import stdin_is_terminal

DEFAULT_COMMAND = "run"

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 provider or network error, 2 usage/config/input error, "
    "3 batch partly failed, 70 internal error, 130 interrupted, 141 stdout closed."
)


@dataclass
class GlobalOptions:
    """Options of the whole program, accepted anywhere before ``--``.

    The group takes them out of the arguments itself, before Click parses:
    they then work after the instruction (``llmcli "text" --debug``) and on
    every command, and no command pays for Typer's option coercion (which
    loads pydantic, ~60 ms) only to read them.
    """

    config: str | None = None
    debug: bool = False


GLOBALS = GlobalOptions()
GLOBAL_HELP = [
    ("--config PATH", "Config file (default: $LLMCLI_CONFIG, else the user config dir)."),
    ("--debug", "Show tracebacks for errors (also LLMCLI_DEBUG=1)."),
    ("--version", "Print the version and exit."),
    ("-h, --help", "Show this message and exit."),
]


class DefaultCommandGroup(TyperGroup):
    """A group whose first positional word may be text for the default command.

    ``llmcli "text"`` and ``llmcli config show`` live side by side: when the
    first word is not a command (nor --help/--version), the default command's
    name is put in front.  Global options (--config, --debug) may appear
    anywhere before ``--``; they are moved to the front first, so
    ``llmcli "text" --debug`` works.
    """

    #: (options, command, the words after it) when options written first were moved after a command.
    moved: tuple[list[str], str, list[str]] | None = None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        args = take_global_options(list(args), GLOBALS)
        self.moved = None
        index = 0
        first = args[0] if args else None
        if first == "--version":
            import typer

            from . import __version__

            sys.stdout.write(f"llmcli {__version__}\n")
            raise typer.Exit()
        if first is None:
            if not stdin_is_terminal():
                args.append(DEFAULT_COMMAND)  # `echo text | llmcli`
        elif (first not in self.commands or first == DEFAULT_COMMAND) and first not in (
            "--help", "-h", "--version"
        ):
            command_at = self._command_after_options(ctx, args, index)
            if command_at is not None:
                # `llmcli -p local models`: options written before a command go after it.
                self.moved = (args[index:command_at], args[command_at], args[command_at + 1:])
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

    def text_hint(self) -> str:
        """After "No such option" from a command the options were moved behind: how to send the words as text.

        ``llmcli -p P config is hard`` runs ``config`` with ``-p P``; a user who
        meant the words as an instruction ends the options with ``--``.
        """
        if self.moved is None:
            return ""
        import shlex

        options, name, rest = self.moved
        words = [name, *rest]
        return (f"to send {' '.join(words)!r} as text, end the options with --: "
                f"llmcli {shlex.join(options)} -- {shlex.join(words)}")

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
        # The group's context serves for the help records: making the default command's own
        # context would coerce its defaults, which loads pydantic (~60 ms) just to print help.
        options = [p for p in run.get_params(ctx) if p.param_type_name == "option" and p.name != "help"]
        rows = [r for r in (p.get_help_record(ctx) for p in options) if r] + GLOBAL_HELP
        with formatter.section("Options"):
            formatter.write_dl(rows)
        self.format_commands(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(
            'Examples: llmcli -s formal "hey can u send it" · git log -1 | llmcli "Rewrite as a changelog entry" · '
            "llmcli -p groq -s fix -f notes.txt --diff · llmcli batch 'docs/**/*.md' -s fix --out fixed/ -j 8 · "
            "llmcli styles"
        )
        formatter.write_paragraph()
        formatter.write_text(EXIT_CODES_HELP)


def take_global_options(args: list[str], into: GlobalOptions) -> list[str]:
    """Remove --config PATH / --config=PATH / --debug (before any "--") from args, recording them."""
    from .errors import UsageError

    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == "--debug":
            into.debug = True
        elif arg == "--config":
            if i + 1 >= len(args):
                raise UsageError("option '--config' needs a path (see 'llmcli --help')")
            into.config = args[i + 1]
            i += 1
        elif arg.startswith("--config="):
            into.config = arg[len("--config="):]
        else:
            rest.append(arg)
        i += 1
    return rest
