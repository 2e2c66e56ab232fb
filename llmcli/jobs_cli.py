"""The `llmcli jobs` commands, built only when `llmcli jobs …` runs (or its help is asked).

Kept out of llmcli/cli.py so that `llmcli --help` and a one-shot rewrite never pay
for building these commands' options (the group in llmcli/default_group.py loads
this module on demand and lists the command with the short help it names).
"""

from __future__ import annotations

import typer

from .default_group import GLOBALS

jobs_app = typer.Typer(
    rich_markup_mode=None, add_completion=False, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
    help="Provider batch jobs (llmcli batch --provider-batch): list, status, fetch, cancel, retry.",
)
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
    interval: float | None = typer.Option(None, "--interval", min=1.0, metavar="SECONDS", help="First wait between polls (default 30; grows by half each time, up to 10 min)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Poll each unfinished provider batch once; download results of those that ended."""
    from .jobs.commands import show_status

    raise typer.Exit(show_status(job, wait=wait, interval=interval, as_json=as_json, config_path=GLOBALS.config))


@jobs_app.command("fetch")
def jobs_fetch_cmd(
    job: str = JOB,
    force: bool = typer.Option(False, "--force", help="Also overwrite sources changed since submission, and rewrite files already written."),
    report: str | None = typer.Option(None, "--report", metavar="FILE.jsonl", help="Write one JSON line per file."),
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
    only: str | None = typer.Option(None, "--only", metavar="STATES", help="Which failures: errored,expired,canceled,missing (default errored,expired,missing)."),
    sync: bool = typer.Option(False, "--sync", help="Real-time calls instead of a new provider batch."),
) -> None:
    """Send the failed requests again, in a new provider batch of the same job."""
    from .jobs.commands import retry_job

    raise typer.Exit(retry_job(job, only=only, sync=sync, config_path=GLOBALS.config))


