"""Shell completion for bash, zsh and fish: the scripts, and the names only the user's config knows.

Typer (through its copy of Click) answers a completion request itself: the
shell runs ``llmcli`` with ``_LLMCLI_COMPLETE=complete_bash`` (``_zsh``,
``_fish``) and the words typed so far in the environment, and the group
prints the candidates before any command runs (``default_group`` registers
Typer's shell classes first).  What Typer cannot know are the names in the
user's config: :func:`profile_names` and :func:`style_names` are the
``autocompletion`` callbacks of ``-p`` and ``-s``; they load the config only
when asked, and a broken config completes the built-in names only, rather
than print an error into the command line being typed.

``llmcli completion SHELL`` prints the script (``--install`` writes it where
Typer's own ``--install-completion`` would), a command rather than Typer's two
root options: those would need the default command's parsing to let them
through, and they take no shell name (Typer detects it from the parent
process, which a Dockerfile or a CI step does not have).
"""

from __future__ import annotations

import contextlib
import io
import sys
from typing import Any

PROG = "llmcli"
COMPLETE_VAR = "_LLMCLI_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def register_shells() -> None:
    """Make Typer's bash/zsh/fish classes the ones Click's completion uses (its own speak another protocol)."""
    from typer._completion_classes import completion_init

    completion_init()


def script(shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    from typer.completion import get_completion_script

    _check(shell)
    register_shells()
    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell)


def show(shell: str, *, install: bool = False) -> None:
    """``llmcli completion SHELL``: print the script, or install it for the user."""
    from . import status
    from .render import write_stdout

    text = script(shell)
    if not install:
        write_stdout(text + "\n")
        return
    from typer.completion import install as typer_install

    _, path = typer_install(shell=shell, prog_name=PROG, complete_var=COMPLETE_VAR)
    status.note(f"{shell} completion installed in {path}; it takes effect in a new shell")


def _check(shell: str) -> None:
    if shell not in SHELLS:
        from .errors import UsageError

        raise UsageError(f"completion: unknown shell '{shell}' (choose one of: {', '.join(SHELLS)})")


# -- names from the config ------------------------------------------------------------


def _config() -> Any:
    """The user's config, or None when it cannot be read; quiet (a warning would land in the typed line)."""
    from . import config as C
    from .default_group import GLOBALS

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return C.load(GLOBALS.config, strict=False)
    except Exception:  # a completion must never fail the shell: no names instead
        return None


def profile_names(incomplete: str) -> list[tuple[str, str]]:
    """``-p`` candidates: every profile (built-in and the config's), with its provider and model."""
    from . import config as C

    config = _config()
    profiles = config.profiles if config is not None else C.builtin_profiles()
    return [
        (name, f"{profile.provider} · {profile.model or 'server default'}")
        for name, profile in profiles.items()
        if name.startswith(incomplete)
    ]


def style_names(incomplete: str) -> list[tuple[str, str]]:
    """``-s`` candidates: the built-in styles and the config's templates, with their descriptions."""
    from . import presets

    config = _config()
    templates = config.templates if config is not None else {}
    try:
        styles = presets.available(templates)
    except Exception:
        styles = presets.available({})
    return [(name, style.description) for name, style in styles.items() if name.startswith(incomplete)]


def shell_names(incomplete: str) -> list[str]:
    """``llmcli completion`` candidates."""
    return [shell for shell in SHELLS if shell.startswith(incomplete)]


def quietly_complete(complete: Any) -> None:
    """Run a completion request; any failure answers nothing (exit 1) instead of a traceback in the shell."""
    try:
        complete()
    except SystemExit:
        raise
    except Exception:
        sys.exit(1)
