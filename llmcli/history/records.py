"""One record of the history: what a call sent and got back, as stored and as read back.

Texts are kept whole up to :data:`MAX_TEXT_BYTES` each (UTF-8).  A longer
text keeps its first :data:`HEAD_BYTES`, and the record's ``clipped`` map
says, per field, the whole text's size and sha256, so ``history show`` can
say what is missing and ``last``/``-c`` can refuse to pass a head off as the
whole.  Every string goes through :func:`llmcli.errors.scrub` before it is
stored: a key or header value that slipped into a text (an error message, a
URL) is masked, as a second safety behind never being given one.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from ..errors import scrub

MAX_TEXT_BYTES = 1_000_000
HEAD_BYTES = 64 * 1024

OK, ERROR, INTERRUPTED = "ok", "error", "interrupted"
STATUSES = (OK, ERROR, INTERRUPTED)
SINGLE, BATCH = "single", "batch"

#: Columns written by llmcli (all of table ``records`` but its rowid ``seq``).
COLUMNS = (
    "id", "time", "conversation_id", "parent_id", "mode", "source", "profile", "provider", "base_url",
    "model", "served_model", "style", "variables", "system", "instruction", "input", "messages", "answer", "reasoning",
    "input_tokens", "output_tokens", "reasoning_tokens", "seconds", "attempts", "finish_reason", "status",
    "error", "cached", "params", "cache_key", "clipped",
)
#: Texts subject to the size rule ("messages" is the JSON of the messages sent).
CLIPPABLE = ("system", "instruction", "input", "messages", "answer", "reasoning", "error")
_JSON_COLUMNS = ("variables", "messages", "params", "clipped")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Record:
    """A record read back.  ``messages``: what was sent after the system prompt, as {"role", "content"} dicts."""

    id: str
    time: str
    conversation_id: str
    status: str
    answer: str = ""
    parent_id: str | None = None
    mode: str = SINGLE
    source: str | None = None
    profile: str | None = None
    provider: str | None = None
    base_url: str | None = None
    model: str | None = None  # the model asked for (what a continuation asks for again)
    served_model: str | None = None  # the model the server said answered, when it differs
    style: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    system: str | None = None
    instruction: str | None = None
    input: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)
    reasoning: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    seconds: float | None = None
    attempts: int | None = None
    finish_reason: str | None = None
    error: str | None = None
    cached: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    cache_key: str | None = None
    clipped: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages_text: str | None = None  # the stored JSON when it was clipped (then ``messages`` is empty)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        values = {key: row[key] for key in row.keys() if key in COLUMNS}
        clipped = _loads(values.get("clipped"), {})
        for name in _JSON_COLUMNS:
            if name == "messages" and "messages" in clipped:
                values["messages_text"] = values.pop("messages")
                continue
            values[name] = _loads(values.get(name), [] if name == "messages" else {})
        values["cached"] = bool(values.get("cached"))
        values["answer"] = values.get("answer") or ""
        return cls(**values)

    def usage(self) -> dict[str, int | None]:
        """The record's tokens as ``--json`` reports a call's (the providers' Usage, one shape)."""
        from ..providers.base import Usage

        return Usage(self.input_tokens, self.output_tokens, None, self.reasoning_tokens).as_dict()

    def as_json(self) -> dict[str, Any]:
        """The whole record as ``--json`` prints it (texts as stored; ``clipped`` says which are heads)."""
        return {
            "id": self.id,
            "time": self.time,
            "conversation_id": self.conversation_id,
            "parent_id": self.parent_id,
            "mode": self.mode,
            "source": self.source,
            "profile": self.profile,
            "provider": self.provider,
            "base_url": self.base_url,
            "model": self.model,
            "served_model": self.served_model,
            "style": self.style,
            "variables": self.variables,
            "system": self.system,
            "instruction": self.instruction,
            "input": self.input,
            "messages": self.messages if self.messages_text is None else self.messages_text,
            "answer": self.answer,
            "reasoning": self.reasoning,
            "usage": self.usage(),
            "seconds": self.seconds,
            "attempts": self.attempts,
            "finish_reason": self.finish_reason,
            "status": self.status,
            "error": self.error,
            "cached": self.cached,
            "params": self.params,
            "clipped": self.clipped,
        }


def _loads(text: Any, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def keep_text(text: str) -> tuple[str, dict[str, Any] | None]:
    """The text to store and, when it is over the limit, what the whole was (size in bytes, sha256)."""
    data = text.encode("utf-8", "replace")
    if len(data) <= MAX_TEXT_BYTES:
        return text, None
    head = data[:HEAD_BYTES].decode("utf-8", "ignore")  # a character cut in two is dropped
    return head, {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "kept": len(head.encode())}


def clean_deep(value: Any) -> Any:
    """Every string in ``value`` (nested lists and dicts too) scrubbed and made storable.

    Storable: a lone surrogate (from a file decoded with surrogateescape)
    cannot be bound by sqlite3; it becomes U+FFFD rather than costing the record.
    """
    if isinstance(value, str):
        text = scrub(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _SURROGATE.sub("\ufffd", text)
        return text
    if isinstance(value, dict):
        return {clean_deep(k): clean_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_deep(v) for v in value]
    return value


def to_row(values: dict[str, Any]) -> dict[str, Any]:
    """Column values ready to insert: scrubbed, JSON where structured, long texts clipped."""
    row: dict[str, Any] = {}
    clipped: dict[str, dict[str, Any]] = {}
    for name in COLUMNS:
        value = clean_deep(values.get(name))
        if name in ("variables", "messages", "params") and value is not None:
            value = json.dumps(value, ensure_ascii=False, sort_keys=name != "messages")
        if name in CLIPPABLE and isinstance(value, str):
            value, whole = keep_text(value)
            if whole is not None:
                clipped[name] = whole
        row[name] = value
    row["clipped"] = json.dumps(clipped, sort_keys=True) if clipped else None
    row["cached"] = 1 if values.get("cached") else 0
    if row["answer"] is None:
        row["answer"] = ""
    return row
