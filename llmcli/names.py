"""How a file name is shown: as text any stream can print on one line, whatever bytes it holds.

File names are bytes on POSIX; Python carries the ones that are not UTF-8
with ``surrogateescape`` (so ``os.fsencode`` gives the bytes back), but such a
``str`` cannot be encoded as UTF-8, and a name holding a line break or an ESC
would break or forge a line on a terminal.  Progress lines, reports, prompts
and messages show a name through :func:`display_name`; opening the file, or
a diff header (``diffview.header_name``), uses the name itself.
"""

from __future__ import annotations

import os
import unicodedata

# Characters a name may hold that would break or fake a line when printed:
# controls (a line break, ESC), line/paragraph separators, bidi overrides.
_UNPRINTABLE_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def display_name(path: str | bytes | os.PathLike[str]) -> str:
    """A file name as a progress line, a report or a message shows it: printable, on one line, in UTF-8.

    A name that is plain text is returned as is.  Otherwise each byte that is
    not UTF-8 is shown as ``\\xNN``, a control character as ``\\n``, ``\\t``,
    ``\\x1b``…, a separator or bidi control as ``\\uNNNN``, and a backslash as
    ``\\\\`` (so the escapes read unambiguously), as Python's ``repr`` would.
    For the name itself (to open the file, in a diff header) use the path.
    """
    text = os.fsdecode(path) if isinstance(path, bytes) else os.fspath(path)
    if text.isascii() and text.isprintable():  # the usual name, told at C speed (a plan shows 10,000 of them)
        return text
    if not any(_unprintable(ch) for ch in text):
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape kept
            out.append(f"\\x{code - 0xDC00:02x}")
        elif _unprintable(ch):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _unprintable(ch: str) -> bool:
    return unicodedata.category(ch) in _UNPRINTABLE_CATEGORIES or ch in _BIDI_CONTROLS
