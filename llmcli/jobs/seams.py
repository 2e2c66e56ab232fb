"""The three places provider batch jobs reach into code the lead is reworking, one function each.

Each is the single call a refactor changes (``llmcli/call.py``'s endpoint and
``complete``/``check_answer``, and ``llmcli/batch/work.py``'s public write):

- :func:`endpoint` — a profile with its key resolved (today ``session.endpoint_for``);
- :func:`check` — whether an answer is whole and usable (today the rules of
  ``batch/work.py``: cut at the token limit, filtered, empty);
- :func:`publish` — write one rewritten file through local batch's atomic
  write, backup and journal (today ``batch/work.py::_write``);
- :func:`complete` — one real-time call for ``jobs retry --sync`` (today
  ``session.complete``).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from ..batch.manifest import Journal
    from ..batch.plan import Job
    from ..config import Profile
    from ..providers.base import Endpoint, Request

CUT = "the answer was cut at the token limit (raise --max-tokens, or lower --max-input-chars)"


def endpoint(profile: "Profile", config_path: Path | None = None, timeout: float | None = None) -> "Endpoint":
    from ..session import endpoint_for

    return endpoint_for(profile, timeout=timeout, config_path=config_path)


def check(text: str | None, ending: str | None, core: str, *, clean: bool) -> tuple[str, str | None]:
    """(the answer as it will be written, why it cannot be used or None)."""
    from ..clean import clean_answer
    from ..providers.base import COMPLETE, FILTERED, TRUNCATED

    if ending == TRUNCATED:
        return "", CUT
    if ending == FILTERED:
        return "", "stopped by the provider's content filter"
    if ending is not None and ending != COMPLETE:
        return "", "the provider did not say the answer was finished"
    answer = clean_answer(text or "", core) if clean else (text or "")
    if not answer.strip():
        return "", "the model returned no text"
    return answer, None


def publish(job: "Job", original: bytes, new_text: str, input_sha: str, *, backup: bool,
            backup_dir: Path | None, journal: "Journal | None", settings_id: str) -> None:
    """Write ``new_text`` to ``job.target`` exactly as local batch writes a finished file."""
    from ..batch import work

    settings = SimpleNamespace(backup=backup, backup_dir=backup_dir, journal=journal, job_id=settings_id)
    work._write(job, original, new_text, input_sha, cast("work.Settings", settings))


def complete(endpoint: "Endpoint", request: "Request") -> tuple[str, str, int | None, int | None]:
    """(text, ending, input tokens, output tokens) of one real-time call."""
    from ..batch.work import CUT_REASONS
    from ..providers.base import COMPLETE, TRUNCATED
    from ..session import complete as call

    answer = call(endpoint, request, retries=2)
    ending = getattr(answer, "ending", None) or (TRUNCATED if answer.finish_reason in CUT_REASONS else COMPLETE)
    usage = answer.usage
    return answer.text, ending, usage.input_tokens if usage else None, usage.output_tokens if usage else None
