"""Batch fixtures: a rewriting fake server, a config pointing at it, and trees of files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.rewriter import make_rewriter


@pytest.fixture
def rewriter(request):
    """(server, rewriter) with knobs from ``@pytest.mark.rewriter(latency=…, fail_every=…)``."""
    marker = request.node.get_closest_marker("rewriter")
    server, rewriter = make_rewriter(**(marker.kwargs if marker else {}))
    with server:
        yield server, rewriter


@pytest.fixture
def batch_env(rewriter, config_file, tmp_path, monkeypatch):
    """cwd = a fresh work dir; profile 'fake' (default) at the rewriter; returns (server, rewriter, workdir)."""
    server, rw = rewriter
    config_file(f"""
default_profile = "fake"

[profiles.fake]
provider = "openai-compatible"
base_url = "{server.url}/v1"
model = "fake-model"
""")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return server, rw, work


def make_tree(root: Path, count: int, *, markdown_every: int = 0) -> dict[Path, str]:
    """``count`` small files under root/a, root/b/c …; every Nth one Markdown. Returns path -> text."""
    files = {}
    for i in range(count):
        sub = root / ("a" if i % 3 == 0 else "b/c" if i % 3 == 1 else "")
        sub.mkdir(parents=True, exist_ok=True)
        md = markdown_every and i % markdown_every == 0
        path = sub / (f"doc{i:03}.md" if md else f"note{i:03}.txt")
        text = f"# Title {i}\n\nsome text number {i}.\n" if md else f"file number {i}\nsecond line\n"
        path.write_text(text)
        files[path] = text
    return files


def upper(text: str) -> str:
    """What the rewriter makes of a whole plain file (its core upper-cased, spacing kept)."""
    core = text.strip()
    return text[: len(text) - len(text.lstrip())] + core.upper() + text[len(text.rstrip()):]
