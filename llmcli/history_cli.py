"""The `llmcli history` commands, built only when `llmcli history …` runs (or its help is asked).

Kept out of llmcli/cli.py so that `llmcli --help` and a one-shot rewrite never pay
for building these commands' options (the group in llmcli/default_group.py loads
this module on demand and lists the command with the short help it names).
"""

from __future__ import annotations

import typer

history_app = typer.Typer(
    rich_markup_mode=None, add_completion=False, help="List, search, show and delete recorded calls.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@history_app.callback(invoke_without_command=True)
def history_cmd(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", "-n", min=0, metavar="N", help="Newest N records (0: all)."),
    query: str | None = typer.Option(None, "--query", "-q", metavar="TEXT", help="Only records whose instruction, input or answer contain every word."),
    profile: str | None = typer.Option(None, "--profile", "-p", metavar="NAME", help="Only records of this profile."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of whole records."),
) -> None:
    """List recorded calls, newest first."""
    if ctx.invoked_subcommand is None:
        from .history_commands import list_history

        list_history(limit=limit, query=query, profile=profile, as_json=as_json)


@history_app.command("show")
def history_show_cmd(
    ids: list[str] = typer.Argument(..., metavar="ID...", help="Record ids ('last' for the last answer)."),
    as_json: bool = typer.Option(False, "--json", help="Print the record(s) as JSON."),
) -> None:
    """Print whole records, texts untruncated."""
    from .history_commands import show

    show(ids, as_json=as_json)


@history_app.command("rm")
def history_rm_cmd(ids: list[str] = typer.Argument(..., metavar="ID...", help="Record ids.")) -> None:
    """Delete records."""
    from .history_commands import rm

    rm(ids)


@history_app.command("clear")
def history_clear_cmd(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
    """Delete every record (asks first on a terminal)."""
    from .history_commands import clear

    clear(yes=yes)


@history_app.command("repair")
def history_repair_cmd() -> None:
    """Move a damaged history aside (never deleted) and start a new one with what can be read."""
    from .history_commands import repair

    repair()


@history_app.command("path")
def history_path_cmd() -> None:
    """Print the history file's path."""
    from .history_commands import show_path

    show_path()


