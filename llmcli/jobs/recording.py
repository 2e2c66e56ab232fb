"""Each provider-batch call into the history, once, as its result arrives (``llmcli history``, ``last``, ``--cache``).

Local batch records every file (every chunk of one) as it is answered; a
provider batch's answers arrive later and in bulk: when a poll finds a batch
ended (``refresh.ingest``), or when ``jobs retry --sync`` asks in real time.
An item is recorded when its result first lands on it, so an ingestion
replayed after a crash records nothing twice (an ingestion cut between its
commit and the history's loses those records from the history, never from
the job).  Recorded as local batch records a unit: mode ``batch``, the file
(with ``#chunk N``), the request as sent, the answer with its thinking apart
and cleaned as ``jobs fetch`` writes it (``seams.made_answer``), or the
provider's reason for an errored request.  Requests that never ran (expired,
cancelled, missing) were no call and are not recorded.

Whether to record: as the submission said (``--no-log``, kept in the
manifest), and ``LLMCLI_NO_LOG`` / the config's ``log`` when the results come.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..providers.batch import ERRORED, SUCCEEDED
from . import layouts, seams
from .store import Items, Job

RECORDED_STATES = (SUCCEEDED, ERRORED)  # the requests that ran: a call each
BATCH = 500  # results recorded per history transaction (the ingestion commits as often)

Record = Callable[[Items, Sequence[str]], None]  # (the job's items, custom ids that just landed)


class Recorder:
    """Records the items named by custom id; the endpoint (key resolution) is asked for on first use."""

    def __init__(self, job: Job, log: Any, endpoint: Callable[[], Any]) -> None:
        self.job = job
        self.log = log
        self.endpoint = endpoint

    def __call__(self, db: Items, custom_ids: Sequence[str]) -> None:
        if not custom_ids:
            return
        try:
            endpoint = self.endpoint()
        except Exception:  # noqa: BLE001 - the job's own command reports a bad profile; the history stays quiet
            return
        m = self.job.manifest
        cores: dict[int, list[str]] = {}  # file no -> its units' text, each file's layout read once a batch
        calls = []
        for item, file in db.landed(custom_ids):
            if item.state not in RECORDED_STATES:
                continue
            if file.no not in cores:
                cores[file.no] = [unit.core for unit in layouts.load(file.layout).units]
            units = cores[file.no]
            core = units[item.unit_no] if item.unit_no < len(units) else None
            call: dict[str, Any] = {
                "endpoint": endpoint, "request": _request(item.request), "mode": "batch",
                "source": f"{file.source}#chunk {item.unit_no + 1}" if file.units > 1 else file.source,
                "input_text": core,
            }
            if item.state == SUCCEEDED:
                call["result"] = seams.made_answer(item, core or "", provider=str(m["provider"]),
                                                   profile=str(m["profile"]), clean=bool(m.get("clean", True)),
                                                   think_open=bool(m.get("think_open")))
            else:
                call.update(status="error", error=item.error or "errored at the provider")
            calls.append(call)
        self.log.record_many(calls)

    def close(self) -> None:
        self.log.close()


def recorder(job: Job, endpoint: Callable[[], Any], config: Callable[[], Any]) -> Recorder | None:
    """The job's recorder, or None when its calls are not to be logged (``config``: today's, when asked)."""
    from .. import history

    if not job.manifest.get("log", True):
        return None
    try:
        settings = config()
    except Exception:  # noqa: BLE001 - the command's own use of the config says what is wrong
        return None
    if not history.enabled(settings):
        return None
    return Recorder(job, history.Log(), endpoint)


def _request(data: str) -> Any:
    from .submission import request_from

    return request_from(data)
