"""Status lines on stderr: warnings, notes and errors, never on stdout.

stdout carries the answer only, so everything a user should read *about* the
run goes through here.  Kept free of Rich so that error paths stay cheap.
"""

from __future__ import annotations

import sys

from .errors import scrub
from .terminal import stderr_colour

PREFIX = "llmcli"


def _write(line: str) -> None:
    try:
        sys.stderr.write(scrub(line) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nowhere left to report


def _styled(code: str, text: str) -> str:
    if not stderr_colour():
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def error(message: str) -> None:
    _write(f"{PREFIX}: {_styled('1;31', 'error')}: {message}")


def warn(message: str) -> None:
    _write(f"{PREFIX}: {_styled('33', 'warning')}: {message}")


def note(message: str) -> None:
    _write(f"{PREFIX}: {message}")
