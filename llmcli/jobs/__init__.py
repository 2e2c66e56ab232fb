"""Provider batch jobs: a corpus handed to the provider's batch engine now, its rewrites written later.

store (job directory, manifest, items database) -> submit (requests written
and fsynced, then uploaded and created) -> refresh (poll, download raw results
as soon as a batch ends, ingest them by id) -> fetch (assemble each file and
publish it through local batch's atomic write, backup and journal) ->
commands (``llmcli jobs list|status|fetch|cancel|retry``).

Nothing here is imported by ``llmcli --help``; the CLI imports ``commands``
inside each command.
"""

from __future__ import annotations

from typing import Any


def submit(*args: Any, **kwargs: Any) -> str:
    """``llmcli batch --provider-batch``: see :func:`llmcli.jobs.submission.submit`."""
    from .submission import submit as _submit

    return _submit(*args, **kwargs)
