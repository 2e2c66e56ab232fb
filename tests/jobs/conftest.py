"""Provider batch fixtures: one fake per protocol, a config pointing at it, and ways to submit and run ``jobs``.

``pb`` is a :class:`Harness` for the kind a test is parametrized with
(``@pytest.mark.parametrize("pb", KINDS, indirect=True)``), or OpenAI by
default: the fake (``tests/fakes/*_batch_wire.py``) on loopback, profile
``pb`` in the config with its key in ``MY_TEST_KEY``, and the cwd a fresh work
dir.  ``submit`` goes through the real plan (``batch/plan.py``), the real
endpoint resolution and ``llmcli.jobs.submit``; ``jobs(...)`` runs the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.fakes import anthropic_batch_wire, gemini_batch_wire, mistral_batch_wire, openai_batch_wire
from tests.fakes.batch_sim import Knobs

KEY = "sk-test-SECRET-4242"
KINDS = ["openai", "groq", "dashscope", "anthropic", "gemini", "mistral"]
WIRES: dict[str, tuple[ModuleType, str]] = {  # kind -> (fake, path added to the server URL for base_url)
    "openai": (openai_batch_wire, "/v1"),
    "groq": (openai_batch_wire, "/openai/v1"),
    "dashscope": (openai_batch_wire, "/api/v1"),  # native base URL: the engine goes to /compatible-mode/v1
    "anthropic": (anthropic_batch_wire, ""),
    "gemini": (gemini_batch_wire, ""),
    "mistral": (mistral_batch_wire, ""),
}


@dataclass
class Harness:
    kind: str
    fake: Any  # the protocol fake: .server, .store, .knobs, .creates()
    work: Path
    cli: Any
    model: str = "model-x"

    @property
    def server(self):
        return self.fake.server

    @property
    def knobs(self) -> Knobs:
        return self.fake.knobs

    def profile(self):
        from llmcli import config as C

        return C.load().profile("pb")

    def submit(self, *paths: str, out: str | None = "out", in_place: bool = False, suffix: str | None = None,
               **options: Any) -> str:
        from llmcli import jobs
        from llmcli.batch.plan import OutputMode, plan
        from llmcli.jobs.submission import SubmitOptions

        mode = OutputMode(None if in_place or suffix else Path(out) if out else None, suffix, in_place)
        planned = plan(list(paths or ("d",)), mode=mode)
        options.setdefault("quiet", True)
        return jobs.submit(planned, build_request, self.profile(), options=SubmitOptions(**options))

    def jobs(self, *args: str):
        return self.cli("jobs", *args)

    def creates(self) -> int:
        return len(self.fake.creates())

    def sent_ids(self, batch_no: int = -1) -> list[str]:
        """The request ids of one batch the fake created (in input order)."""
        batch = sorted(self.fake.store.batches.values(), key=lambda b: b.id)[batch_no]
        return [cid for cid, _ in batch.requests]

    def settle(self, job: str) -> None:
        """Poll until every batch ended (each poll advances the fake one state)."""
        for _ in range(self.knobs.polls + 3):
            result = self.jobs("status", job)
            assert result.code == 0, result.stderr
            if "ended" in result.stdout.splitlines()[0]:
                return
        raise AssertionError("the job did not end")


def build_request(job, text: str):
    """What the lead's call layer does for a unit: here a plain request with the profile's model."""
    from llmcli.providers.base import Message, Request

    return Request(messages=(Message("user", text),), model="model-x", system="Rewrite the text.",
                   temperature=0.2, max_tokens=500)


def profile_toml(kind: str, url: str, name: str = "pb", **extra: Any) -> str:
    values = {"provider": kind, "base_url": url + WIRES[kind][1], "api_key_env": "MY_TEST_KEY", "model": "model-x",
              "timeout": 5, **extra}
    return f"[profiles.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


@pytest.fixture
def pb(request, config_file, tmp_path, monkeypatch, cli):
    kind = getattr(request, "param", "openai")
    wire, _ = WIRES[kind]
    server, fake = wire.make_server(Knobs())
    with server:
        config_file(profile_toml(kind, server.url))
        monkeypatch.setenv("MY_TEST_KEY", KEY)
        work = tmp_path / "work"
        work.mkdir()
        monkeypatch.chdir(work)
        yield Harness(kind, fake, work, cli)


def make_files(root: Path, texts: dict[str, str]) -> dict[Path, str]:
    files = {}
    for name, text in texts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files[path] = text
    return files


def state_dir(home: Path) -> Path:
    return home / ".local/state/llmcli/jobs"
