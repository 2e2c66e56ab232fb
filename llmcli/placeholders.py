"""``{name}`` placeholders in templates, substituted in one pass over the template only.

Why not ``str.format``: a template is the user's, but the *values* include the
text being rewritten, and that text must never be expanded — braces in an
email or in code stay as they are.  One ``re.sub`` over the template means a
value is inserted and never scanned again.  Only ``{identifier}`` is a
placeholder; ``{{`` and ``}}`` write a literal brace; any other brace (a JSON
example in a system prompt) is left alone rather than being an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def placeholders(template: str) -> list[str]:
    """The placeholder names of ``template``, in order of first use."""
    return list(_names(template))


@functools.lru_cache(maxsize=64)
def _names(template: str) -> tuple[str, ...]:
    """Cached: a batch composes every file from the same few templates, several times each."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(template):
        if match.group(1):
            seen.setdefault(match.group(1), None)
    return tuple(seen)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace every ``{name}`` by its value; every name must be in ``values`` (check first)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values[match.group(1)]

    return _TOKEN.sub(replace, template)
