"""``llmcli jobs retry JOB``: the requests that failed, and only those, once more.

On the provider's engine (default): a new chunk in the same job, each request
rebuilt from its stored ``Request`` by the same ``line`` code as at
submission, under a new id (``…a2``, ``…a3``) so a late result of the old
attempt can never be taken for the new one; then sent like any chunk (its
items are pointed at it before the upload, idempotently).  A retry chunk left
unsent by a crash is sent by the next ``jobs retry`` before anything new is
chosen.  ``--sync``: the same requests as real-time calls instead, their
answers stored for the next ``jobs fetch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import errors as E
from .. import status
from ..providers.batch import ERRORED, SUCCEEDED, Outcome
from . import seams, store
from .store import CREATED, WITHDRAWN, Job, dumps
from .submission import Chunker, request_from, send


def retry(job: Job, states: tuple[str, ...], make_engine: Callable[[], Any]) -> int:
    engine = make_engine()
    unsent = [c for c in job.chunks if c.get("step") not in (CREATED, WITHDRAWN)]
    if unsent:
        send(job, engine)
        status.note(f"job {job.id}: sent {len(unsent)} batch{'es' if len(unsent) != 1 else ''} left unsent; "
                    f"llmcli jobs status {job.id}")
        return E.EXIT_OK
    db = job.items()
    chunker = Chunker(job.path / "chunks", engine.limits, first=len(job.chunks))
    count = 0
    try:
        for item in db.in_states(states):
            attempt = item.attempt + 1
            request = request_from(item.request)
            line = (dumps(engine.line(store.request_id(item.file_no, item.unit_no, attempt), request)) + "\n").encode()
            chunker.add(request.model or "", line, f"request {item.id}")
            count += 1
        chunks = chunker.close()
    finally:
        chunker.abandon()
    if not count:
        status.note(f"job {job.id}: no {'/'.join(states)} requests to retry")
        return E.EXIT_OK
    for chunk in chunks:
        chunk["retry"] = True
    job.chunks.extend(chunks)
    job.manifest["state"] = "submitting"
    job.manifest["done"] = False
    job.save()
    send(job, engine)
    status.note(f"job {job.id}: {count} request{'s' if count != 1 else ''} sent again in {len(chunks)} "
                f"batch{'es' if len(chunks) != 1 else ''}; llmcli jobs status {job.id}")
    return E.EXIT_OK


def retry_sync(job: Job, states: tuple[str, ...], connection: Any) -> int:
    """``connection``: the job's ``commands.Connection`` (its profile, endpoint and call settings)."""
    from ..providers import backend_for
    from .refresh import update_counts

    profile = connection.profile()
    backend = backend_for(connection.endpoint())  # one client for every request
    policy = connection.call().policy(profile)
    db = job.items()
    ok = failed = 0
    record = connection.recorder()
    try:
        for item in db.in_states(states):
            try:
                answer = seams.complete(backend, request_from(item.request), policy, profile)
            except E.ProviderError as err:
                db.answer(db.db, item.id, Outcome(item.custom_id, ERRORED, error=f"real-time retry: {err}"))
                status.note(f"request {item.id}: {err}")
                failed += 1
            else:
                usage = answer.usage
                db.answer(db.db, item.id, Outcome(item.custom_id, SUCCEEDED, text=answer.text,
                                                  finish_reason=answer.finish_reason, ending=answer.ending,
                                                  tokens_in=usage.input_tokens if usage else None,
                                                  tokens_out=usage.output_tokens if usage else None))
                ok += 1
            if record is not None:
                record(db, [item.custom_id])  # a real-time call: into the history as it is answered
    finally:
        if record is not None:
            record.close()
    job.manifest["done"] = False
    update_counts(job)
    if not ok and not failed:
        status.note(f"job {job.id}: no {'/'.join(states)} requests to retry")
        return E.EXIT_OK
    status.note(f"job {job.id}: {ok} request{'s' if ok != 1 else ''} answered in real time, {failed} failed; "
                f"llmcli jobs fetch {job.id} writes them")
    return E.EXIT_PARTIAL if failed else E.EXIT_OK
