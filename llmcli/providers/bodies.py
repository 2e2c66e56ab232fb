"""What a server sent, in a few words, when it is not its API's answer.

A base_url that points at a web server, a proxy's error page or a gateway
that answers for a dead upstream sends HTML, an empty body or text; an SDK
then quotes it whole in its exception (a 3 KB nginx page) or parses it as
nothing at all.  The error a user reads says *what* came instead, in one
short line: ``an HTML page ("502 Bad Gateway")``, ``an empty body``, or the
start of the text.  Every provider message is clipped here too, so no
provider can fill a terminal with one error.  No SDK is imported here.
"""

from __future__ import annotations

import html
import re
from typing import Any

#: The longest provider message kept in an error (its one line), in characters.
MAX_MESSAGE = 200
#: A <title> (or a whole page's text) longer than this is not quoted.
MAX_TITLE = 80
#: How much of a body is looked at.
HEAD_BYTES = 64 * 1024

EMPTY = "an empty body"
NOT_API = "not an API response"

_HTML_START = re.compile(r"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|title|meta|h1|center|p)\b", re.I | re.S)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_INVISIBLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` on one line, cut at ``limit`` characters (with an ellipsis when cut)."""
    line = one_line(text)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def as_text(body: Any) -> str:
    """A body as text: bytes decoded leniently (this is for a message, not for the answer)."""
    if body is None:
        return ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body[:HEAD_BYTES]).decode("utf-8", "replace")
    return str(body)[:HEAD_BYTES]


def looks_like_html(text: str) -> bool:
    """Whether a body is an HTML page (what a web server or a proxy sends), whatever its Content-Type said."""
    return bool(_HTML_START.match(text)) or "<html" in text[:1024].lower()


def html_summary(text: str) -> str:
    """``an HTML page ("<its title>")`` when the title (or the whole page's text) is short, else ``an HTML page``."""
    match = _TITLE.search(text)
    title = one_line(html.unescape(_TAG.sub("", match.group(1)))) if match else ""
    if not title:
        title = one_line(html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", text))))
    if title and len(title) <= MAX_TITLE:
        return f'an HTML page ("{title}")'
    return "an HTML page"


def describe(body: Any) -> str:
    """What a body is, for a message: empty, an HTML page (summarised), or its start, quoted and clipped."""
    text = as_text(body)
    if not text.strip():
        return EMPTY
    if looks_like_html(text):
        return html_summary(text)
    return f'"{clip(text, MAX_MESSAGE - 2)}"'


def provider_text(text: Any) -> str:
    """A provider's own error text as it goes into a message: an HTML page summarised, anything else clipped."""
    value = as_text(text)
    if looks_like_html(value):
        return f"{html_summary(value)}, {NOT_API}"
    return clip(value)
