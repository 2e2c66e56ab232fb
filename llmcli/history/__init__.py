"""Memory: every call in one SQLite history, read back by ``last``, ``history``, ``-c`` and ``--cache``.

The modules, one concept each:

- ``store``: the file (where, modes, WAL, busy timeout) and every query;
- ``schema``: the tables and their migrations (``PRAGMA user_version``);
- ``records``: one record as stored (scrubbed, long texts clipped) and read back;
- ``log``: recording a call and answering from the cache, never at the answer's cost;
- ``search``: ``-q``, with FTS5 or LIKE, the same records either way;
- ``cache``: what makes two requests identical;
- ``refine``: the conversation a ``-c``/``--cid`` call continues;
- ``faults``: what went wrong with the file, said in one line;
- ``ids``: time-ordered record ids.

This module itself stays light (no sqlite3): :func:`enabled` runs on every
call, and a call that is not logged should not pay for the database.  The
names below it are loaded on first use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from .cache import cache_key, request_key
    from .faults import HistoryError
    from .ids import new_id
    from .log import Capture, Log, lookup, record
    from .records import Record
    from .refine import Resume, conversation, resume
    from .store import Store, default_path

__all__ = [
    "enabled", "Log", "record", "lookup", "Capture", "cache_key", "request_key", "resume", "conversation",
    "Resume", "Record", "HistoryError", "Store", "default_path", "new_id",
]

_LAZY = {
    "Log": "log", "record": "log", "lookup": "log", "Capture": "log",
    "cache_key": "cache", "request_key": "cache",
    "resume": "refine", "conversation": "refine", "Resume": "refine",
    "Record": "records", "HistoryError": "faults", "Store": "store", "default_path": "store", "new_id": "ids",
}

_OFF = ("1", "true", "yes", "on")


def enabled(config: Any, no_log_flag: bool = False) -> bool:
    """Whether this call is logged: not with ``--no-log``, ``LLMCLI_NO_LOG=1`` or ``log = false`` in the config."""
    if no_log_flag:
        return False
    if os.environ.get("LLMCLI_NO_LOG", "").strip().lower() in _OFF:
        return False
    return bool(getattr(config, "log", True))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmcli.history' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
