"""A file's batch layout (``llmcli.batch.units``) as JSON, so fetch can put the answers back days later.

Kept parts and each unit's lead, core, trail and masked links are stored as
they were at submission: the file is reassembled from exactly what was sent,
whatever the source looks like by then.
"""

from __future__ import annotations

import json

from ..batch.units import Layout, Unit
from .store import dumps


def dump(layout: Layout) -> str:
    parts = [p if isinstance(p, str) else [p.lead, p.core, p.trail, p.links] for p in layout.parts]
    return dumps({"parts": parts, "links": layout.links, "tag": layout.tag})


def load(text: str) -> Layout:
    data = json.loads(text)
    parts = [p if isinstance(p, str) else Unit(p[0], p[1], p[2], dict(p[3])) for p in data["parts"]]
    return Layout(parts, dict(data.get("links") or {}), str(data.get("tag") or ""))
