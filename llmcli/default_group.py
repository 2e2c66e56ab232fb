"""The root command group: a default command beside subcommands, and the help people see.

``llmcli "text"`` and ``llmcli config show`` live side by side.  Click (and so
Typer) wants a subcommand name first; this group puts the default command's
name in front when the first word is not a command, moves the program-wide
options to the front wherever they were written, and moves options written
before a real command (``llmcli -p groq models``) after it.  It also makes
``llmcli --help`` show the default command's options, which is what people run.

A lone word that is almost a command (``llmcli profile``, ``llmcli histroy``)
is refused with a "did you mean" rather than sent to a paid model as a
one-word instruction; ``llmcli -- profile`` sends it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from typer.core import TyperGroup

from .terminal import stdin_is_terminal

DEFAULT_COMMAND = "run"

#: Command groups built only when they run (or their help is asked): name -> (module, Typer app, short help).
#: Building every command's options costs ~0.7 ms each; these two alone have a dozen.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "history": ("llmcli.history_cli", "history_app", "List, search, show and delete recorded calls."),
    "jobs": ("llmcli.jobs_cli", "jobs_app",
             "Provider batch jobs (llmcli batch --provider-batch): list, status, fetch, cancel, retry."),
}

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 provider or network error, 2 usage/config/input error, "
    "3 batch partly failed, 70 internal error, 74 the answer could not be written, "
    "130 interrupted, 141 stdout closed, 143 terminated."
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
            if not stdin_is_terminal() and not ctx.resilient_parsing:
                args.append(DEFAULT_COMMAND)  # `echo text | llmcli`
        elif (not self.is_command(first) or first == DEFAULT_COMMAND) and first not in (
            "--help", "-h", "--version"
        ):
            command_at = self._command_after_options(ctx, args, index)
            if command_at is not None:
                # `llmcli -p local models`: options written before a command go after it.
                self.moved = (args[index:command_at], args[command_at], args[command_at + 1:])
                args = args[:index] + [args[command_at]] + args[index:command_at] + args[command_at + 1:]
            else:
                if not ctx.resilient_parsing:  # shell completion parses half-typed lines
                    self._refuse_a_mistyped_command(args[index:])
                # The default command's own name is text too: `llmcli run the tests` keeps "run".
                args.insert(index, DEFAULT_COMMAND)
        return super().parse_args(ctx, args)

    def _main_shell_completion(self, ctx_args: Any, prog_name: str, complete_var: str | None = None) -> None:
        """A completion request (``_LLMCLI_COMPLETE`` set): answered with Typer's shell classes, never a traceback."""
        import os

        from .completion import COMPLETE_VAR, quietly_complete, register_shells

        if not os.environ.get(complete_var or COMPLETE_VAR):
            return  # the usual case: one environment lookup, nothing imported
        register_shells()
        quietly_complete(lambda: super(DefaultCommandGroup, self)._main_shell_completion(
            ctx_args, prog_name, complete_var))

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """At the start of the line, ``-`` offers the default command's options and the global ones too."""
        results = super().shell_complete(ctx, incomplete)
        if incomplete.startswith("-"):
            from typer._click.shell_completion import CompletionItem

            run = self.commands[DEFAULT_COMMAND]
            seen = {item.value for item in results}
            for param in run.get_params(ctx):
                if param.param_type_name != "option" or getattr(param, "hidden", False):
                    continue
                for opt in [*param.opts, *param.secondary_opts]:
                    if opt.startswith(incomplete) and opt not in seen:
                        results.append(CompletionItem(opt, help=getattr(param, "help", None)))
                        seen.add(opt)
            for names, help_text in GLOBAL_HELP:
                for opt in names.replace(",", " ").split():
                    if opt.startswith(incomplete) and opt not in seen:
                        results.append(CompletionItem(opt, help=help_text))
                        seen.add(opt)
        return results

    def command_names(self) -> list[str]:
        """The names a first word may mean: the visible commands, those built on demand included."""
        names = [name for name, command in self.commands.items() if not command.hidden]
        return names + [name for name in LAZY_COMMANDS if name not in self.commands]

    def is_command(self, name: str) -> bool:
        return name in self.commands or name in LAZY_COMMANDS

    # -- commands built on demand ----------------------------------------------------------------

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            import importlib

            import typer

            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            group = typer.main.get_command(getattr(importlib.import_module(module), attribute))
            group.name = cmd_name
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: Any) -> list[str]:
        return super().list_commands(ctx) + [name for name in LAZY_COMMANDS if name not in self.commands]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list, lazy groups listed with their short help without being built."""
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS and name not in self.commands:
                rows.append((name, LAZY_COMMANDS[name][2]))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - max(map(len, self.commands)))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _refuse_a_mistyped_command(self, args: list[str]) -> None:
        """Raise a UsageError when the default command's arguments are one word that is almost a command.

        Only when the word would be the whole request: no ``--`` (which always
        sends), no ``-f``, no ``-s``/``--to`` (the words are then text to
        rewrite), no text waiting on stdin.  A piped stdin may be empty, but it
        is not read here: a word given with a pipe is taken as meant.
        """
        words, options = self._split_run_args(args)
        if words is None or len(words) != 1 or options & {"--file", "--style", "--to"}:
            return
        word = words[0]
        if word == "-" or len(word.split()) != 1 or word.startswith("-"):
            return
        if not stdin_is_terminal():
            from .inputs import _is_null_device

            if not _is_null_device(sys.stdin):
                return
        from .typos import closest

        meant = closest(word, self.command_names())
        if meant is None:
            return
        import shlex

        from .errors import UsageError

        raise UsageError(
            f"unknown command '{word}' (did you mean '{meant}'?); "
            f"to send it as an instruction: llmcli -- {shlex.quote(word)}"
        )

    def _split_run_args(self, args: list[str]) -> tuple[list[str] | None, set[str]]:
        """The default command's positional words and the long names of its options given, as Click would read them.

        ``None`` for the words when a ``--`` is among them (everything after it is meant as written).
        """
        run = self.commands[DEFAULT_COMMAND]
        long_name: dict[str, str] = {}
        takes_value: set[str] = set()
        for param in run.params:
            if param.param_type_name != "option":
                continue
            opts = list(param.opts) + list(param.secondary_opts)
            canonical = max(opts, key=len)
            for opt in opts:
                long_name[opt] = canonical
                if not getattr(param, "is_flag", False):
                    takes_value.add(opt)
        words: list[str] = []
        given: set[str] = set()
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                return None, given
            if not arg.startswith("-") or arg == "-":
                words.append(arg)
            elif arg.startswith("--"):
                name = arg.split("=", 1)[0]
                given.add(long_name.get(name, name))
                if name in takes_value and "=" not in arg:
                    i += 1
            else:  # short options, maybe clustered (-uf FILE) or with the value attached (-fFILE)
                for at in range(1, len(arg)):
                    opt = "-" + arg[at]
                    given.add(long_name.get(opt, opt))
                    if opt in takes_value:
                        if at == len(arg) - 1:
                            i += 1
                        break
        return words, given

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
        if i < len(args) and i > start and self.is_command(args[i]) and args[i] != DEFAULT_COMMAND:
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
