"""Recording calls, and answering from the cache: the history API the call path uses.

Both must never cost an answer.  Any fault (a directory that cannot be made
or written, a file locked past the busy timeout, a corrupt or foreign file,
a full disk, even a bug here) prints ONE warning per process, naming the file
and what to do, and the call goes on unlogged: :meth:`Log.record` returns
None instead of an id, :meth:`Log.lookup` None instead of a record.  After a
fault a :class:`Log` stops trying, so a batch pays the busy timeout once,
not once per file.

Single mode records with :func:`record` (open, insert, close); a batch opens
one :class:`Log` for the run and calls :meth:`Log.record` from every worker
(thread-safe; one connection, one short transaction per record).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import remember_secret
from ..render import Capture  # noqa: F401  (history.Capture: where it lived first)
from . import faults
from .cache import message_pair, request_key, request_params
from .ids import new_id
from .records import ERROR, OK, SINGLE, STATUSES, Record, to_row
from .store import BUSY_TIMEOUT, Store, default_path


class Log:
    """The history as one run writes it: opened on first use, closed by :meth:`close` (or ``with``).

    ``enabled`` False (see history.enabled): :meth:`record` does nothing and
    :meth:`lookup` still reads (``--cache`` answers from an existing history
    even when this call is not logged).
    """

    def __init__(self, path: Path | None = None, *, enabled: bool = True, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self.enabled = enabled
        self.timeout = timeout
        self._store: Store | None = None
        self._opened = False
        self._broken = False
        self._lock = threading.Lock()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:  # closing checkpoints the WAL: a full disk may show here; the data is safe
                pass

    def _where(self) -> Path:
        if self.path is None:
            try:
                self.path = default_path()
            except Exception:
                return Path("history.db")
        return self.path

    def _open(self, what: str) -> Store | None:
        """The store, opened on first use (made when this log writes); None after a fault."""
        with self._lock:
            if self._broken:
                return None
            if not self._opened:
                self._opened = True
                path = self._where()
                try:
                    if self.enabled:
                        self._store = Store.open(path, create=True, timeout=self.timeout)
                    else:
                        self._store = Store.open_for_reading(path, timeout=self.timeout)
                except Exception as exc:
                    self._fault(exc, what)
                    return None
            return self._store

    def _fault(self, exc: BaseException, what: str) -> None:
        self._broken = True
        faults.warn_once(exc, self._where(), timeout=self.timeout, what=what)

    # -- recording -------------------------------------------------------------------------------

    def record(
        self,
        *,
        status: str = OK,
        endpoint: Any = None,
        request: Any = None,
        result: Any = None,
        profile: str | None = None,
        provider: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        style: str | None = None,
        variables: Mapping[str, str] | None = None,
        system: str | None = None,
        messages: Sequence[Any] | None = None,
        params: Mapping[str, Any] | None = None,
        instruction: str | None = None,
        input_text: str | None = None,
        answer: str | None = None,
        reasoning: str | None = None,
        usage: Any = None,
        seconds: float | None = None,
        attempts: int | None = None,
        finish_reason: str | None = None,
        error: BaseException | str | None = None,
        cached: bool = False,
        conversation_id: str | None = None,
        parent_id: str | None = None,
        mode: str = SINGLE,
        source: str | None = None,
    ) -> str | None:
        """Record one call (a single-mode call, a batch file or one chunk of it); return its id, or None.

        Where the values come from, first given wins: the keyword itself;
        ``result`` (an answer object: text, reasoning, model, usage,
        finish_reason, seconds, attempts); ``request`` (a providers.base.Request:
        model, system, messages, temperature/max_tokens/reasoning);
        ``endpoint`` (a providers.base.Endpoint: profile, kind, base_url; its key
        and header values are remembered as secrets so no text can store
        them, and are never stored themselves).

        ``status``: "ok", "error" (``error`` says why) or "interrupted"
        (``answer`` = what arrived).  ``instruction``: the user's own words;
        ``input_text``: the text being rewritten; ``source``: its label (a file
        name, "stdin"; a batch file's path, with "#chunk N" for a chunk).
        ``conversation_id``/``parent_id``: from :func:`history.resume` when the
        call continues a conversation; otherwise a new conversation begins,
        its id this record's id.  (A batch may give the chunks of one file one
        conversation id of its own making, ``history.new_id()``.)
        """
        if not self.enabled:
            return None
        try:
            values = self._values(**{k: v for k, v in locals().items() if k != "self"})
        except Exception as exc:  # a bug in what the caller passed: still never the answer's problem
            self._fault(exc, faults.NOT_LOGGED)
            return None
        store = self._open(faults.NOT_LOGGED)
        if store is None:
            return None
        try:
            return store.add(to_row(values))
        except Exception as exc:
            self._fault(exc, faults.NOT_LOGGED)
            return None

    def record_many(self, calls: Sequence[Mapping[str, Any]]) -> int:
        """Record many calls (each the keywords :meth:`record` takes) in one transaction; how many were kept."""
        if not self.enabled or not calls:
            return 0
        defaults: dict[str, Any] = {name: None for name in inspect.signature(Log.record).parameters if name != "self"}
        defaults.update(status=OK, cached=False, mode=SINGLE)
        try:
            rows = [to_row(self._values(**{**defaults, **call})) for call in calls]
        except Exception as exc:  # a bug in what the caller passed: still never the answers' problem
            self._fault(exc, faults.NOT_LOGGED)
            return 0
        store = self._open(faults.NOT_LOGGED)
        if store is None:
            return 0
        try:
            return store.add_many(rows)
        except Exception as exc:
            self._fault(exc, faults.NOT_LOGGED)
            return 0

    @staticmethod
    def _values(**given: Any) -> dict[str, Any]:
        endpoint, request, result = given["endpoint"], given["request"], given["result"]
        if endpoint is not None:
            from ..keys import looks_secret

            remember_secret(getattr(endpoint, "api_key", None))
            for name, value in (getattr(endpoint, "headers", None) or {}).items():
                if looks_secret(name, value):  # not every header: OpenRouter's X-Title is "llmcli"
                    remember_secret(value)

        def first(name: str, *sources: tuple[Any, str]) -> Any:
            if given.get(name) is not None:
                return given[name]
            for obj, attr in sources:
                value = getattr(obj, attr, None) if obj is not None else None
                if value is not None:
                    return value
            return None

        status = given["status"] if given["status"] in STATUSES else ERROR
        messages = given["messages"]
        if messages is None and request is not None:
            messages = [{"role": m.role, "content": m.content} for m in request.messages]
        elif messages is not None:
            messages = [_as_dict(m) for m in messages]
        params = given["params"]
        if params is None and request is not None:
            params = request_params(request)
        usage = first("usage", (result, "usage"))
        error = given["error"]
        asked_model = first("model", (request, "model"), (result, "model"))
        served = getattr(result, "model", None) if result is not None else None
        provider = first("provider", (endpoint, "kind"), (result, "provider"))
        base_url = first("base_url", (endpoint, "base_url"))
        cache = None
        if request is not None and provider:
            cache = request_key(provider, base_url, request)
        record_id = new_id()
        return {
            "id": record_id,
            "time": _now(),
            "conversation_id": given["conversation_id"] or record_id,
            "parent_id": given["parent_id"],
            "mode": given["mode"],
            "source": given["source"],
            "profile": first("profile", (endpoint, "profile"), (result, "profile")),
            "provider": provider,
            "base_url": base_url,
            "model": asked_model,
            "served_model": served if served and served != asked_model else None,
            "style": given["style"],
            "variables": dict(given["variables"]) if given["variables"] else None,
            "system": first("system", (request, "system")),
            "instruction": given["instruction"],
            "input": given["input_text"],
            "messages": messages,
            "answer": first("answer", (result, "text")) or "",
            "reasoning": first("reasoning", (result, "reasoning")) or None,
            "input_tokens": getattr(usage, "input_tokens", None),
            "output_tokens": getattr(usage, "output_tokens", None),
            "reasoning_tokens": getattr(usage, "reasoning_tokens", None),
            "seconds": first("seconds", (result, "seconds")),
            "attempts": first("attempts", (result, "attempts")),
            "finish_reason": first("finish_reason", (result, "finish_reason")),
            "status": status,
            "error": (str(error) or type(error).__name__) if isinstance(error, BaseException) else error,
            "cached": bool(given["cached"]),
            "params": dict(params) if params is not None else None,
            "cache_key": cache,
        }

    # -- the cache -------------------------------------------------------------------------------

    def lookup(self, key: str) -> Record | None:
        """The newest successful record of a request with this cache key, or None (also on any fault)."""
        store = self._open(faults.NO_CACHE)
        if store is None:
            return None
        try:
            record = store.by_cache_key(key)
        except Exception as exc:
            self._fault(exc, faults.NO_CACHE)
            return None
        if record is None or "answer" in record.clipped:
            return None  # a head is not the answer
        return record


def _as_dict(message: Any) -> dict[str, str]:
    role, content = message_pair(message)
    return {"role": role, "content": content}


def _now() -> str:
    """UTC, ISO 8601 to the millisecond: sorts as text, reads in any time zone."""
    now = datetime.fromtimestamp(time.time(), tz=timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def record(path: Path | None = None, **fields: Any) -> str | None:
    """Record one call in its own open-insert-close (single mode); see :meth:`Log.record`."""
    with Log(path) as log:
        return log.record(**fields)


def lookup(key: str, path: Path | None = None) -> Record | None:
    """The cached answer for a request key, or None; reads only (see :meth:`Log.lookup`)."""
    with Log(path, enabled=False) as log:
        return log.lookup(key)
