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

from typer.core import TyperGroup

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
