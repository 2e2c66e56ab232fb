"""`llmcli batch` through each native SDK, several workers sharing one client: every file gets its answer."""

from __future__ import annotations

import pytest

from tests.fakes import anthropic_wire, dashscope_wire, gemini_wire, mistral_wire

from .helpers import NATIVE

SERVERS = {"anthropic": anthropic_wire, "gemini": gemini_wire, "mistral": mistral_wire, "dashscope": dashscope_wire}


@pytest.mark.parametrize("kind", list(NATIVE))
def test_batch_on_native_provider(kind, cli, config_file, tmp_path, monkeypatch):
    native = NATIVE[kind]
    with SERVERS[kind].make_server() as server:
        config_file(native.profile_toml(server.url))
        monkeypatch.chdir(tmp_path)
        for i in range(6):
            (tmp_path / f"f{i}.txt").write_text(f"text {i}\n")
        result = cli("batch", ".", "--include", "f*.txt", "-p", native.profile, "-s", "fix", "--out", "o",
                     "-j", "3", env={"MY_TEST_KEY": "k"})
        assert result.code == 0, result.stderr
        assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [f"f{i}.txt" for i in range(6)]
        for p in (tmp_path / "o").iterdir():
            assert p.read_text() == native.text + "\n"
        assert len(server.requests) == 6
        assert "summary: done 6" in result.stderr
