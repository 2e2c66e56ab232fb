"""Record ids: 26 characters that sort in the order the records were made (ULID layout).

A history is read newest first and a user copies an id from ``llmcli history``
into ``history show`` or ``--cid``, so an id must sort by time and be short
enough to paste.  The layout is the ULID one: 48 bits of milliseconds since
the epoch, then 80 random bits, in Crockford's base 32 (no I, L, O, U).
Within one process ids are strictly increasing even in the same millisecond
(the random part is incremented), so the 32 workers of a batch never collide
and their records list in the order they were written.
"""

from __future__ import annotations

import os
import threading
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 26
_RANDOM_BITS = 80

_lock = threading.Lock()
_last = (0, 0)


def new_id(now: float | None = None) -> str:
    """A new id, later than every id this process made before."""
    global _last
    ms = int((time.time() if now is None else now) * 1000)
    with _lock:
        last_ms, last_random = _last
        if ms <= last_ms:
            ms, random = last_ms, last_random + 1
            if random >> _RANDOM_BITS:  # 2**80 ids in one millisecond: borrow the next one
                ms, random = ms + 1, 0
        else:
            random = int.from_bytes(os.urandom(_RANDOM_BITS // 8), "big")
        _last = (ms, random)
    return encode((ms << _RANDOM_BITS) | random)


def encode(value: int) -> str:
    """``value`` (128 bits at most) as 26 base-32 digits, most significant first."""
    digits = []
    for _ in range(LENGTH):
        digits.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(digits))


def looks_like_id(text: str) -> bool:
    """Whether ``text`` could be an id or the start of one (case-insensitive)."""
    return bool(text) and len(text) <= LENGTH and all(c in ALPHABET for c in text.upper())
