"""Where provider batch jobs meet the one call path: one function for each thing both modes share.

- :func:`endpoint` — a profile with its key and headers resolved, as
  ``llmcli.call.Call.endpoint`` resolves them for every call;
- :func:`answer` — a result line's text made into an ``Answer`` (:func:`made_answer`) the way
  ``llmcli.session.complete`` makes a streamed one (thinking split off, a
  lone ``</think>`` and a whole-answer wrapper removed), then judged by
  ``session.check_answer`` as a batch unit is: cut, filtered or empty answers
  never replace a file;
- :func:`publish` — one rewritten file through local batch's
  ``batch/publish.py::publish`` (atomic write, backup, journal, a changed
  source never replaced);
- :func:`complete` — one real-time call for ``jobs retry --sync``, through
  ``session.complete`` under the profile's retry policy (its answer judged
  at fetch by :func:`answer`, like every other).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors as E

if TYPE_CHECKING:
    from ..batch.manifest import Journal
    from ..batch.plan import Job
    from ..batch.publish import Publishing
    from ..config import Profile
    from ..providers.base import Endpoint, Request


def call(config_path: Path | None, timeout: float | None = None) -> Any:
    """The ``llmcli.call.Call`` a job's command works under: today's config, no flags."""
    from ..call import Call, CallFlags

    return Call.resolve(CallFlags(config_path=str(config_path) if config_path else None, timeout=timeout))


def endpoint(profile: Profile, config_path: Path | None = None, timeout: float | None = None) -> Endpoint:
    return call(config_path, timeout).endpoint(profile)


def answer(item: Any, core: str, *, provider: str, profile: str, clean: bool, think_open: bool,
           chunked: bool) -> tuple[str, str | None]:
    """(the text to write, None) for a usable result, or ("", why it cannot be used)."""
    from ..session import check_answer

    result = made_answer(item, core, provider=provider, profile=profile, clean=clean, think_open=think_open)
    try:
        check_answer(result, replaces_text=True, chunked=chunked)
    except E.ProviderError as err:
        why = err.message + (f" ({err.hint})" if err.hint else "")
        return "", " ".join(why.split())
    return result.text, None


def made_answer(item: Any, core: str, *, provider: str, profile: str, clean: bool, think_open: bool) -> Any:
    """A result line as the ``session.Answer`` a streamed call gives: thinking apart, cleaned, not yet judged.

    What :func:`answer` judges, and what the history keeps of the call (jobs/recording.py).
    """
    from ..providers.base import Done, ReasoningDelta, TextDelta, Usage
    from ..session import Answer, finished_text
    from ..thinking import split

    parts: list[str] = []
    thoughts: list[str] = []
    for event in split(iter([TextDelta(item.text or ""), Done(item.finish, None, item.ending or "")]),
                       opened=think_open):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, ReasoningDelta):
            thoughts.append(event.text)
    text, reasoning = finished_text("".join(parts), "".join(thoughts), core if clean else None)
    usage = Usage(item.tokens_in, item.tokens_out) if item.tokens_in is not None or item.tokens_out is not None \
        else None
    return Answer(text=text, profile=profile, provider=provider, model=None, usage=usage,
                  finish_reason=item.finish, ending=item.ending or "", seconds=0.0, reasoning=reasoning)


def publishing(manifest: dict[str, Any], journal: Journal | None, *, force: bool) -> Publishing:
    """How a fetch publishes every file of the job, as local batch does: one for the whole fetch (its cache too)."""
    from ..batch.publish import Publishing

    backup_dir = manifest.get("backup_dir")
    return Publishing(journal=journal, fingerprint=str(manifest.get("settings_id") or ""),
                      backup=bool(manifest.get("backup", True)), backup_dir=Path(backup_dir) if backup_dir else None,
                      overwrite_changed=force)


def publish(job: Job, original: bytes, new_text: str, how: Publishing) -> Path:
    """Write ``new_text`` as ``job``'s output exactly as local batch does; ``SourceChanged`` if edited in place."""
    from ..batch.publish import publish as write

    return write(job, original, new_text, how)


def complete(backend: Any, request: Request, policy: Any, profile: Profile) -> Any:
    """One real-time call under the profile's retry ``policy``; the ``session.Answer`` as it came.

    Not cleaned nor checked here: its text is stored like a result line and goes
    through :func:`answer` at fetch, as every other answer of the job does.
    """
    from ..session import complete as exchange

    return exchange(backend, request, policy=policy, replay=True,
                    think_open=getattr(profile, "think_tags", "auto") == "open")
