"""Anthropic Message Batches: inline requests, one poll per status, results as JSONL from ``results_url``.

As anthropic 2.15 speaks it: a batch is one ``POST /v1/messages/batches`` holding
every ``{custom_id, params}`` (so chunks are kept far below the 256 MB cap:
the SDK builds that body in memory), ``processing_status`` ends as ``ended``,
and the results are streamed from the absolute ``results_url`` the batch
names.  The SDK would send the key to whatever host that URL names, so it is
followed only when it is on the configured base URL's host, fetched through
the SDK client's own ``get`` (its auth, headers, timeouts) as a raw stream.

There is no metadata on a batch: after a crash between create and record, the
batch is found by its request count among those created since the attempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import errors as E
from . import KINDS
from .base import Endpoint, Request, ending_of
from .batch import (
    CANCELED,
    CANCELLED,
    CANCELLING,
    COMPLETED,
    ERRORED,
    EXPIRED_ITEM,
    NEEDS_MODEL,
    RUNNING,
    SUCCEEDED,
    Limits,
    Outcome,
    Remote,
    Sink,
    Tag,
    jsonl,
    timestamp,
)

# 100,000 requests / 256 MB documented; 64 MB because the whole chunk is one JSON body in memory.
LIMITS = Limits(100_000, 64 * 2**20)
_NOT_RUN = {EXPIRED_ITEM: "the batch reached its 24 h limit before this request ran",
            CANCELED: "the batch was cancelled before this request ran"}
_RESULT_STATES = {"succeeded": SUCCEEDED, "errored": ERRORED, "canceled": CANCELED, "expired": EXPIRED_ITEM}


def make_engine(endpoint: Endpoint, *, window: str | None = None) -> AnthropicEngine:
    return AnthropicEngine(endpoint)


class AnthropicEngine:
    kind = "anthropic"
    limits = LIMITS
    uploads = False

    def __init__(self, endpoint: Endpoint) -> None:
        from . import anthropic as backend_module

        self.backend = backend_module.Backend(endpoint)
        self.errors = self.backend.errors
        self.base_url = endpoint.base_url or KINDS["anthropic"].base_url or ""
        self._truncated = backend_module._TRUNCATED
        self._filtered = backend_module._FILTERED

    def line(self, custom_id: str, request: Request) -> dict[str, Any]:
        params = self.backend.batch_body(request)
        if not params.get("model"):
            raise self.errors.make(E.BadRequestError, NEEDS_MODEL)
        return {"custom_id": custom_id, "params": params}

    def upload(self, path: Path, tag: Tag) -> str:
        raise NotImplementedError("Anthropic batches take their requests inline")

    def create(self, *, path: Path, file_id: str | None, model: str, tag: Tag) -> Remote:
        requests = list(jsonl(path, self.errors.provider))  # one chunk, bounded by LIMITS
        with E.map_exceptions(self.backend.mapping()):
            batch = self.backend.client().messages.batches.create(requests=requests)
        return self._remote(batch)

    def find(self, tag: Tag, *, since: float, count: int, exclude: frozenset[str] | set[str] = frozenset()
             ) -> Remote | None:
        """The batch this chunk created before a crash, if any (``exclude``: ids other chunks own)."""
        found = []
        with E.map_exceptions(self.backend.mapping()):
            for batch in self.backend.client().messages.batches.list(limit=100):
                created = timestamp(getattr(batch, "created_at", None))
                if created is not None and created < since:
                    break  # newest first
                counts = getattr(batch, "request_counts", None)
                total = sum(int(getattr(counts, k, 0) or 0)
                            for k in ("processing", "succeeded", "errored", "canceled", "expired"))
                if total == count and str(batch.id) not in exclude:
                    found.append(batch)
        if len(found) > 1:
            ids = ", ".join(str(b.id) for b in found)
            raise self.errors.make(E.ProviderError, f"cannot tell which of these batches chunk {tag.chunk} "
                                   f"created: {ids}"
                                   " (cancel the extra one in the console, then run the same command again)")
        return self._remote(found[0]) if found else None

    def poll(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self.backend.client().messages.batches.retrieve(batch_id))

    def cancel(self, batch_id: str) -> Remote:
        with E.map_exceptions(self.backend.mapping()):
            return self._remote(self.backend.client().messages.batches.cancel(batch_id))

    def download(self, remote: Remote, sink: Sink) -> None:
        import httpx2

        url = remote.outputs[0] if remote.outputs else ""
        if not url:
            return
        if not same_host(url, self.base_url):
            where = urlsplit(url).netloc or repr(url)
            raise self.errors.make(E.BadResponse, f"the batch's results_url is on {where}, not on "
                                   f"the configured {urlsplit(self.base_url).netloc}; not sending the key there")
        options = {"headers": {"Accept": "application/binary", "X-Stainless-Raw-Response": "stream"}}
        with E.map_exceptions(self.backend.mapping()), sink("results") as out:
            response = self.backend.client().get(url, cast_to=httpx2.Response, options=options)
            try:
                for data in response.iter_bytes():
                    out.write(data)
            finally:
                response.close()

    def _remote(self, batch: Any) -> Remote:
        status = str(getattr(batch, "processing_status", "") or "")
        counts = getattr(batch, "request_counts", None)
        state = {"in_progress": RUNNING, "canceling": CANCELLING}.get(status, RUNNING)
        if status == "ended":
            state = CANCELLED if getattr(batch, "cancel_initiated_at", None) else COMPLETED
        return Remote(
            id=str(batch.id), state=state, status=status,
            counts={k: int(getattr(counts, k, 0) or 0) for k in ("processing", "succeeded", "errored", "canceled",
                                                                  "expired")} if counts else {},
            created_at=timestamp(getattr(batch, "created_at", None)),
            expires_at=timestamp(getattr(batch, "expires_at", None)),
            outputs=[str(batch.results_url)] if getattr(batch, "results_url", None) else [],
        )

    def parse(self, path: Path) -> Iterator[Outcome]:
        for item in jsonl(path, self.errors.provider):
            cid = str(item.get("custom_id") or "")
            result = item.get("result") or {}
            state = _RESULT_STATES.get(str(result.get("type")), ERRORED)
            if state != SUCCEEDED:
                error = (result.get("error") or {}).get("error") or {}
                reason = ": ".join(x for x in (error.get("type"), error.get("message")) if x) or _NOT_RUN.get(
                    state, str(result.get("type")))
                yield Outcome(cid, state, error=reason)
                continue
            message = result.get("message") or {}
            text = "".join(b.get("text", "") for b in message.get("content") or []
                           if isinstance(b, dict) and b.get("type") == "text")
            finish = message.get("stop_reason")
            usage = message.get("usage") or {}
            yield Outcome(cid, SUCCEEDED, text=text, finish_reason=finish,
                          ending=ending_of(finish, truncated=self._truncated, filtered=self._filtered),
                          tokens_in=usage.get("input_tokens"), tokens_out=usage.get("output_tokens"))


def same_host(url: str, base_url: str) -> bool:
    """Same scheme, host and port (default ports filled in)."""
    a, b = urlsplit(url), urlsplit(base_url)

    def where(u: Any) -> tuple[str, str, int | None]:
        port = u.port or {"https": 443, "http": 80}.get(u.scheme)
        return u.scheme.lower(), (u.hostname or "").lower(), port

    return bool(a.hostname) and where(a) == where(b)
