"""Provider batch engines: which profiles have one, and what every engine takes and gives back.

An *engine* is the provider's asynchronous batch API behind one small
interface (``Engine``): the request line for one (id, Request), upload, create,
find (crash reconciliation), poll, download, parse, cancel.  Each lives in its
own module (``batch_openai``, ``batch_anthropic``, ``batch_gemini``,
``batch_mistral``) and drives the provider's own SDK through the same backend
(client, error mapping, ``batch_body``) a real-time call uses.  This module
imports no SDK: ``llmcli jobs list`` and ``--help`` must stay cheap.

What is known about each protocol (paths, states, limits, result shapes) is in
the project's provider-batch notes; the limits below quote them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .base import Endpoint, Request

# A batch's state, one vocabulary for every provider (each engine maps its own states onto it).
QUEUED, RUNNING, CANCELLING = "queued", "running", "cancelling"
COMPLETED, CANCELLED, EXPIRED, FAILED = "completed", "cancelled", "expired", "failed"
ENDED = (COMPLETED, CANCELLED, EXPIRED, FAILED)

NEEDS_MODEL = "a provider batch needs a model (-m MODEL or the profile's model)"

# One request's outcome.
SUCCEEDED, ERRORED, CANCELED, EXPIRED_ITEM = "succeeded", "errored", "canceled", "expired"

# Kinds without a batch engine, and why (the one line a user gets, before anything is written).
NO_ENGINE = {
    "lmstudio": "LM Studio serves one machine and has no batch engine",
    "deepseek": "DeepSeek has no batch API",
    "openrouter": "OpenRouter's batch API is not the OpenAI file flow and is not supported yet",
    "openai-compatible": "a generic OpenAI-compatible server has no batch endpoints unless its profile says "
                         "batch = true",
}
ENGINE_MODULES = {
    "openai": "batch_openai", "groq": "batch_openai", "dashscope": "batch_openai",
    "openai-compatible": "batch_openai", "anthropic": "batch_anthropic", "gemini": "batch_gemini",
    "mistral": "batch_mistral",
}


@dataclass(frozen=True)
class Limits:
    """A provider's per-batch caps; chunks are cut at ``MARGIN`` of them."""

    max_requests: int
    max_bytes: int
    max_line_bytes: int | None = None

    MARGIN = 0.9

    @property
    def requests(self) -> int:
        return max(1, int(self.max_requests * self.MARGIN))

    @property
    def bytes(self) -> int:
        return max(1, int(self.max_bytes * self.MARGIN))

    @property
    def line_bytes(self) -> int:
        cap = self.bytes if self.max_line_bytes is None else int(self.max_line_bytes * self.MARGIN)
        return min(cap, self.bytes)


@dataclass(frozen=True)
class Tag:
    """What names one chunk at the provider, so a crashed submission can find the batch it created."""

    job: str
    chunk: int

    @property
    def name(self) -> str:
        return f"llmcli-{self.job}-{self.chunk:03d}"

    @property
    def metadata(self) -> dict[str, str]:
        return {"llmcli_job": self.job, "llmcli_chunk": str(self.chunk)}


@dataclass
class Remote:
    """A provider batch as one poll saw it."""

    id: str
    state: str  # QUEUED | RUNNING | CANCELLING | one of ENDED
    status: str  # the provider's own word
    counts: dict[str, int] = field(default_factory=dict)
    created_at: float | None = None  # unix seconds
    expires_at: float | None = None
    outputs: list[str] = field(default_factory=list)  # what ``download`` fetches (file ids, a results URL)
    error: str | None = None  # why a failed batch failed

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Remote:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Outcome:
    """One result line, matched to its request by ``custom_id`` (never by position)."""

    custom_id: str
    state: str  # SUCCEEDED | ERRORED | CANCELED | EXPIRED_ITEM
    text: str | None = None
    finish_reason: str | None = None
    ending: str | None = None  # providers.base COMPLETE | TRUNCATED | FILTERED | INCOMPLETE
    tokens_in: int | None = None
    tokens_out: int | None = None
    error: str | None = None  # the provider's reason, for errored / expired / canceled
    http_status: int | None = None


Sink = Callable[[str], AbstractContextManager[IO[bytes]]]  # label -> a file to stream one result file into


class Engine(Protocol):
    kind: str
    limits: Limits
    uploads: bool  # True: the payload goes up as a file first (all but Anthropic)

    def line(self, custom_id: str, request: Request) -> dict[str, Any]: ...

    def upload(self, path: Path, tag: Tag) -> str: ...

    def create(self, *, path: Path, file_id: str | None, model: str, tag: Tag) -> Remote: ...

    def find(self, tag: Tag, *, since: float, count: int,
             exclude: frozenset[str] | set[str] = frozenset()) -> Remote | None: ...

    def poll(self, batch_id: str) -> Remote: ...

    def download(self, remote: Remote, sink: Sink) -> None: ...

    def parse(self, path: Path) -> Iterator[Outcome]: ...

    def cancel(self, batch_id: str) -> Remote: ...


def unsupported(kind: str, *, batch_flag: bool | None = None) -> str | None:
    """Why a profile of this kind cannot use a provider batch, or None when it can.

    ``batch_flag`` is the profile's ``batch`` key: true opens a generic OpenAI-compatible
    server's batch endpoints, false turns the engine off, unset lets the kind decide.
    """
    if batch_flag is False:
        return "the profile says batch = false"
    if kind == "openai-compatible":
        return None if batch_flag else NO_ENGINE[kind]
    if kind in ENGINE_MODULES:
        return None
    return NO_ENGINE.get(kind, "no batch engine")


def engine_for(endpoint: Endpoint, *, window: str | None = None) -> Engine:
    """Import the engine module of the endpoint's kind (and so its SDK) and build it."""
    module = importlib.import_module(f"{__package__}.{ENGINE_MODULES[endpoint.kind]}")
    return module.make_engine(endpoint, window=window)


def jsonl(path: Path, where: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file, one line at a time (never the whole file in memory)."""
    import json

    from .. import errors as E

    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError:
                raise E.BadResponse(f"{where}: line {number} of {path.name} is not JSON") from None
            if isinstance(item, dict):
                yield item


def timestamp(value: Any) -> float | None:
    """Unix seconds from an int, a datetime or an RFC 3339 string (providers use all three)."""
    from datetime import datetime

    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None
