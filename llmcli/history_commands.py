"""What ``llmcli last`` and ``llmcli history …`` do, apart from parsing (which is ``cli``).

Data on stdout, pipe-friendly: an answer raw, records as JSON with
``--json``, a tab-separated line per record in a pipe, a table only on a
terminal.  Notes and errors on stderr.  A history that cannot be read (corrupt,
foreign, locked, unreadable) is one error line naming the file, exit 2
(``llmcli history repair`` for a damaged one).  Nothing here makes a request,
and reading never creates the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from . import status
from .errors import UsageError, one_line
from .history import faults
from .history.faults import HistoryError
from .history.records import COLUMNS, Record
from .history.store import SIDE_FILES, Store, default_path
from .render import write_stdout
from .terminal import stderr_is_terminal, stdin_is_terminal, stdout_is_terminal

PREVIEW = 80  # characters of a text in a listing line


@contextlib.contextmanager
def _reading(path: Path | None = None) -> Iterator[Store | None]:
    """The history opened for a command (None when there is none yet); every fault a HistoryError."""
    where = path or default_path()
    try:
        store = Store.open_for_reading(where)
    except Exception as exc:
        raise faults.error(exc, where) from None
    if store is None:
        yield None
        return
    try:
        yield store
    except (sqlite3.Error, OSError) as exc:
        raise faults.error(exc, where) from None
    finally:
        with contextlib.suppress(Exception):
            store.close()


# -- last -------------------------------------------------------------------------------------------


def last(*, as_json: bool = False, diff: bool = False, path: Path | None = None) -> None:
    """The last successful single-mode answer, as it was printed (no request is made)."""
    if as_json and diff:
        raise UsageError("--json and --diff do not go together")
    with _reading(path) as store:
        record = store.latest() if store is not None else None
    if record is None:
        raise HistoryError(f"history: no answer recorded yet in {path or default_path()}")
    if as_json:
        write_stdout(json.dumps(record.as_json(), ensure_ascii=False))
        return
    _refuse_clipped(record, "answer")
    if diff:
        if not record.input:
            raise HistoryError(f"history: the last answer ({record.id}) rewrote no text; nothing to compare it with")
        _refuse_clipped(record, "input")
        from .answer_diff import show_answer_diff

        show_answer_diff(record.input, record.answer, label=record.source)
        return
    write_stdout(record.answer)


def _refuse_clipped(record: Record, name: str) -> None:
    whole = record.clipped.get(name)
    if whole:
        raise HistoryError(
            f"history: the {name} of {record.id} was {_size(whole.get('size'))}, over the history's limit: only its "
            f"first {_size(whole.get('kept'))} are kept (llmcli history show {record.id})"
        )


# -- history (the list) -----------------------------------------------------------------------------


def list_history(
    *, limit: int = 20, query: str | None = None, profile: str | None = None, as_json: bool = False,
    path: Path | None = None,
) -> None:
    """Records newest first: a JSON array, tab-separated lines in a pipe, a table on a terminal."""
    with _reading(path) as store:
        records = store.find(limit=limit or None, query=query, profile=profile) if store is not None else []
    if as_json:
        write_stdout(json.dumps([r.as_json() for r in records], ensure_ascii=False))
        return
    if not records:
        if stdout_is_terminal():
            status.note("no records" if store is not None else f"no history yet ({path or default_path()})")
        return
    if stdout_is_terminal():
        _table(records)
        return
    lines = []
    for r in records:
        cells = [r.id, r.time, r.profile or "", r.model or "", _state(r), _what(r), _preview(r.answer)]
        lines.append("\t".join(cells) + "\n")
    write_stdout("".join(lines))


def _table(records: Sequence[Record]) -> None:
    from rich.table import Table

    from .terminal import stdout_console

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("ID", "TIME", "PROFILE", "MODEL", "STATUS", "INSTRUCTION / INPUT", "ANSWER"):
        table.add_column(name, no_wrap=name not in ("INSTRUCTION / INPUT", "ANSWER"), overflow="ellipsis")
    for r in records:
        table.add_row(r.id, _local(r.time), r.profile or "", r.model or "", _state(r), _what(r), _preview(r.answer))
    stdout_console().print(table)


def _state(record: Record) -> str:
    return record.status + (" cached" if record.cached else "")


def _what(record: Record) -> str:
    """What the call was asked: its style and instruction, else its input, else the file it came from."""
    words = " ".join(w for w in (f"[{record.style}]" if record.style else "", record.instruction or "") if w)
    return _preview(words or record.input or record.source or "")


def _preview(text: str | None) -> str:
    flat = one_line(text or "")
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


def _local(stamp: str) -> str:
    """A stored UTC time in the local zone, to the minute, for people."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


# -- history show / rm / clear / repair / path -------------------------------------------------------


def show(refs: Sequence[str], *, as_json: bool = False, path: Path | None = None) -> None:
    """Whole records, text untruncated (what was clipped at recording is said so)."""
    with _reading(path) as store:
        if store is None:
            raise HistoryError(f"history: no history yet at {path or default_path()}")
        records = [store.resolve(ref) for ref in refs]
    if as_json:
        data = [r.as_json() for r in records]
        write_stdout(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False))
        return
    write_stdout("\n".join(_describe(r) for r in records))


def _describe(r: Record) -> str:
    """A record for people: its facts, one per line, then each text whole under its own heading."""
    facts = [("id", r.id), ("time", f"{r.time} ({_local(r.time)} local)"), ("conversation", r.conversation_id)]
    if r.parent_id:
        facts.append(("continues", r.parent_id))
    from .answer_diff import LABELS

    source = LABELS.get(r.source or "", r.source)
    facts.append(("mode", r.mode + (f" ({source})" if source else "")))
    facts.append(("profile", " · ".join(x for x in (r.profile, r.provider, r.base_url) if x)))
    served = f" (answered: {r.served_model})" if r.served_model else ""
    facts.append(("model", (r.model or "(server default)") + served))
    if r.style:
        facts.append(("style", r.style))
    if r.variables:
        facts.append(("variables", " ".join(f"{k}={v}" for k, v in r.variables.items())))
    if r.params:
        facts.append(("parameters", " ".join(f"{k}={v}" for k, v in r.params.items() if v is not None) or "defaults"))
    state = [_state(r)]
    if r.finish_reason:
        state.append(f"finish {r.finish_reason}")
    if r.seconds is not None:
        state.append(f"{r.seconds:.2f} s")
    if r.attempts:
        state.append(f"{r.attempts} attempt{'s' if r.attempts != 1 else ''}")
    facts.append(("status", " · ".join(state)))
    usage = r.usage()
    if any(v is not None for v in usage.values()):
        tokens = f"{usage['input_tokens']} in + {usage['output_tokens']} out"
        if usage["reasoning_tokens"] is not None:
            tokens += f" ({usage['reasoning_tokens']} reasoning)"
        facts.append(("tokens", tokens))
    if r.error:
        facts.append(("error", one_line(r.error)))
    width = max(len(name) for name, _ in facts) + 1
    out = "".join(f"{(name + ':').ljust(width)} {value}\n" for name, value in facts)
    sections = [("system", r.system), ("instruction", r.instruction), ("input", r.input)]
    if r.messages_text is not None:
        sections.append(("messages", r.messages_text))
    elif len(r.messages) > 1:  # a continued conversation: the earlier exchanges are only here
        sections.append(("messages", "".join(f"[{m.get('role')}]\n{m.get('content')}\n" for m in r.messages)))
    sections += [("reasoning", r.reasoning), ("answer", r.answer)]
    for name, text in sections:
        if not text:
            continue
        whole = r.clipped.get(name)
        note = ""
        if whole:
            note = (f" (clipped: the whole was {_size(whole.get('size'))}, sha256 {whole.get('sha256')}; "
                    f"the first {_size(whole.get('kept'))} are kept)")
        out += f"\n--- {name}{note} ---\n{text}"
        if not text.endswith("\n"):
            out += "\n"
    return out


def _size(n: object) -> str:
    if not isinstance(n, int):
        return "?"
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def rm(refs: Sequence[str], *, path: Path | None = None) -> None:
    """Delete records (every id is checked before any is deleted)."""
    with _reading(path) as store:
        if store is None:
            raise HistoryError(f"history: no history yet at {path or default_path()}")
        ids = [store.resolve(ref).id for ref in refs]
        count = store.delete(ids)
    status.note(f"deleted {count} record{'s' if count != 1 else ''}")


def clear(*, yes: bool = False, path: Path | None = None) -> None:
    """Delete every record; asks first on a terminal, needs --yes otherwise."""
    where = path or default_path()
    with _reading(where) as store:
        if store is None:
            status.note(f"no history at {where}; nothing to delete")
            return
        count = store.count()
        if not yes:
            if not (stdin_is_terminal() and stderr_is_terminal()):
                raise HistoryError(f"history clear: would delete {count} records in {where}; add --yes to confirm")
            if not _confirm(f"Delete all {count} records in {where}? [y/N] "):
                status.note("nothing deleted")
                return
        deleted = store.clear()
    status.note(f"deleted {deleted} record{'s' if deleted != 1 else ''} from {where}")


def _confirm(question: str) -> bool:
    import sys

    try:
        sys.stderr.write(question)
        sys.stderr.flush()
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        return False
    return answer.strip().lower() in ("y", "yes")


def repair(*, path: Path | None = None) -> None:
    """A damaged history is moved aside (never deleted) and a new one started, with what could be read."""
    where = path or default_path()
    if not where.exists():
        status.note(f"no history at {where}; nothing to repair")
        return
    try:
        problem, count = _health(where)
        if problem == "ok":
            status.note(f"{where} is healthy ({count} records); nothing to do")
            return
        cause: Exception = sqlite3.DatabaseError(f"database disk image is malformed: {problem}")
    except Exception as exc:
        if faults.kind_of(exc) not in (faults.CORRUPT, faults.FAILED):
            raise faults.error(exc, where) from None  # locked, unreadable, newer: moving it would not help
        cause = exc
    rows = _salvage(where)
    aside = _aside_name(where)
    try:
        os.replace(where, aside)
        for suffix in SIDE_FILES:  # a WAL belongs to its database: a stale one must not meet the new file
            side = Path(str(where) + suffix)
            if side.exists():
                os.replace(side, Path(str(aside) + suffix))
        store = Store.open(where, create=True)
        assert store is not None
        with store:
            for row in rows:
                with contextlib.suppress(sqlite3.Error):
                    store.conn.execute(
                        f"INSERT OR IGNORE INTO records ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                        list(row.values()),
                    )
    except (OSError, sqlite3.Error) as exc:
        raise faults.error(exc, where) from None
    kept = (f"with the {len(rows)} record{'s' if len(rows) != 1 else ''} that could be read" if rows
            else "(no record could be read)")
    status.note(f"moved the damaged history ({one_line(str(cause))}) to {aside}; started a new one at {where} {kept}")


def _health(path: Path) -> tuple[str, int]:
    """SQLite's quick check of the file ("ok" or its first problem) and its record count."""
    store = Store.open_for_reading(path)
    if store is None:
        return "ok", 0  # an empty file: a history waiting for its first record
    with store:
        return store.check(), store.count()


def _salvage(path: Path) -> list[dict[str, object]]:
    """The records still readable in a damaged file (as many as SQLite can step through)."""
    rows: list[dict[str, object]] = []
    try:
        conn = sqlite3.connect(str(path), timeout=0.5)
    except sqlite3.Error:
        return rows
    try:
        cursor = conn.execute("SELECT * FROM records ORDER BY seq")
        names = [d[0] for d in cursor.description]
        while True:
            try:
                row = cursor.fetchone()
            except sqlite3.Error:
                break
            if row is None:
                break
            rows.append({n: v for n, v in zip(names, row) if n in COLUMNS})
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return [r for r in rows if r.get("id") and r.get("status")]


def _aside_name(path: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    return candidate


def show_path(*, path: Path | None = None) -> None:
    """Where the history lives (whether or not it exists yet)."""
    write_stdout(f"{path or default_path()}\n")
