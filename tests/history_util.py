"""Helpers shared by the history tests (tests/test_history_*.py): paths, sample calls, file scans."""

from __future__ import annotations

from pathlib import Path

from llmcli.providers.base import Endpoint, Message, Request, Usage

SECRET = "sk-test-Zq7vS3cr3tKeyBytes-0042"
HEADER_SECRET = "hdr-Value-9x8y7z-Secret"


def data_dir() -> Path:
    from llmcli.history.store import data_dir as where

    return where()


def db_path() -> Path:
    from llmcli.history.store import default_path

    return default_path()


def endpoint(profile: str = "fake", base_url: str = "http://127.0.0.1:9/v1", key: str = SECRET) -> Endpoint:
    return Endpoint(profile=profile, kind="openai-compatible", base_url=base_url, api_key=key,
                    headers={"X-Custom": HEADER_SECRET})


def request(text: str = "teh cat sat\n", *, system: str | None = "Fix the spelling.", temperature: float | None = 0.3,
            model: str | None = "fake-model", history: tuple[Message, ...] = ()) -> Request:
    return Request(messages=history + (Message("user", f"<text>\n{text}</text>"),), model=model, system=system,
                   temperature=temperature, max_tokens=None)


def sample(n: int = 0, **overrides):
    """Keyword arguments for Log.record describing one successful call."""
    text = overrides.pop("input_text", f"input number {n}: teh cat sat\n")
    values = dict(
        endpoint=endpoint(), request=request(text), style="fix", variables={"to": "English"},
        instruction=f"instruction {n}", input_text=text, answer=f"answer number {n}: the cat sat",
        usage=Usage(10 + n, 5, 15 + n, None), seconds=0.5, attempts=1, finish_reason="stop", source="<stdin>",
    )
    values.update(overrides)
    return values


def files_containing(directory: Path, needle: bytes) -> list[Path]:
    """Every file under ``directory`` whose bytes contain ``needle``."""
    return [p for p in directory.rglob("*") if p.is_file() and needle in p.read_bytes()]
