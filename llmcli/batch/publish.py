"""Putting one rewrite in place: atomically, journalled, with a backup, never over a newer edit.

Local batch and the provider batch engine's fetch (``llmcli jobs fetch``) both
publish through :func:`publish`, so they share every guarantee:

- the new text reaches the target through a temp file and a rename (llmcli/atomic.py):
  the target holds the old content or the new, whole;
- the resume journal's line is fsynced after the data and before the rename
  (llmcli/batch/manifest.py), so "done" always means "the target holds it";
- in place, the original is kept as FILE.bak (or under ``--backup-dir``), and an
  existing, different backup is never overwritten;
- in place, a file that changed since it was read (the user edited it while its
  request ran, or since a provider batch was submitted) is never replaced: the
  rewrite goes beside it as ``FILE.llmcli-new`` and :class:`SourceChanged` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write_bytes, keep_backup, remove_stale_temps
from ..names import display_name
from .manifest import Journal, sha256
from .plan import Job

BESIDE_SUFFIX = ".llmcli-new"


class SourceChanged(Exception):
    """The input changed after it was read; its rewrite was written beside it instead."""

    def __init__(self, source: Path, beside: Path) -> None:
        super().__init__(f"changed during the run: your edit is kept; the rewrite is in {display_name(beside)}")
        self.source, self.beside = source, beside


@dataclass(frozen=True)
class Publishing:
    """How a run publishes: its journal and fingerprint, and what it does in place."""

    journal: Journal | None
    fingerprint: str
    backup: bool = True
    backup_dir: Path | None = None
    overwrite_changed: bool = False  # --force for a provider batch's stale sources
    temps_seen: dict[Path, list[str]] = field(default_factory=dict, compare=False)  # remove_stale_temps' cache


def publish(job: Job, original: bytes, text: str, how: Publishing) -> Path:
    """Write ``text`` as ``job``'s output (``original``: the input's bytes as read); return the path written."""
    data = text.encode("utf-8")
    target = job.target
    real_source = job.source.resolve()
    in_place = target == job.source or target.resolve() == real_source
    if in_place:
        target = real_source  # through a symlink: rewrite the file, keep the link

    def changed() -> bool:
        try:
            return in_place and not how.overwrite_changed and job.source.read_bytes() != original
        except FileNotFoundError:
            return in_place and not how.overwrite_changed

    if changed():
        raise SourceChanged(job.source, _beside(job, data))
    if in_place and how.backup:
        _backup(job, original, how.backup_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target, how.temps_seen)
    input_sha, output_sha = sha256(original), sha256(data)

    def before_replace() -> None:
        if changed():  # edited while the backup and the temp file were written
            raise SourceChanged(job.source, job.source)
        if how.journal is not None:
            how.journal.record(job.source, target, how.fingerprint, input_sha, output_sha)

    mode = job.source.stat().st_mode & 0o7777 if not target.exists() else None
    try:
        atomic_write_bytes(target, data, mode=mode, before_replace=before_replace)
    except SourceChanged:
        raise SourceChanged(job.source, _beside(job, data)) from None
    return target


def _beside(job: Job, data: bytes) -> Path:
    beside = job.source.with_name(job.source.name + BESIDE_SUFFIX)
    atomic_write_bytes(beside, data)
    return beside


def _backup(job: Job, original: bytes, backup_dir: Path | None) -> Path:
    """FILE.bak (or under --backup-dir, mirroring the path below the current directory)."""
    if backup_dir is None:
        return keep_backup(job.source, original)
    source, cwd = job.source.resolve(), Path.cwd().resolve()
    relative = source.relative_to(cwd) if source.is_relative_to(cwd) else Path(job.source.name)
    return keep_backup(job.source, original, backup_dir / relative)
