"""One path, two front-ends: the same settings give the same request in single mode and in batch.

Each case is a config (profile and template keys) and a set of flags; the text is sent once through
``llmcli`` (stdin) and once through ``llmcli batch`` (a file), and the JSON bodies the fake server
received must be identical.  Then the retry policy, tested once in tests/test_retry.py, is checked
through both front-ends: the profile's ``retries``, ``--retries``, ``Retry-After`` and ``--max-wait``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.openai_wire import error_reply, make_server, stream_reply

TEXT = "the meeting it was moved to thursday\n"

PROFILE = """
default_profile = "p"

[profiles.p]
provider = "openai-compatible"
base_url = "{url}/v1"
model = "profile-model"
{profile_keys}

[profiles.other]
provider = "openai-compatible"
base_url = "{url}/v1"
model = "other-model"
temperature = 0.9
system = "Other profile's system."

[templates.t]
prompt = "Make it {{tone}}."
defaults = {{ tone = "kind" }}
{template_keys}
"""

CASES = {
    # name: (profile keys, template keys, flags after the style/instruction)
    "profile keys only": ('temperature = 0.3\nmax_tokens = 77\nsystem = "Profile system."', "", ["-i", "Fix it"]),
    "profile system with a style": ('system = "Profile system."', "", ["-s", "formal"]),
    "flags over the profile": (
        'temperature = 0.3\nmax_tokens = 77\nsystem = "Profile system."', "",
        ["-i", "Fix it", "-m", "flag-model", "-t", "1.1", "--max-tokens", "12", "--system", "Flag system."],
    ),
    "template over the profile": (
        "temperature = 0.3", 'model = "template-model"\ntemperature = 0.6\nsystem = "Template system for {tone}."',
        ["-s", "t"],
    ),
    "flags over the template": (
        "temperature = 0.3", 'model = "template-model"\ntemperature = 0.6', ["-s", "t", "-m", "m2", "-t", "0.1", "-V", "tone=curt"],
    ),
    "template's profile": ("", 'profile = "other"', ["-s", "t"]),
    "flag profile over the template's": ("", 'profile = "other"', ["-s", "t", "-p", "p"]),
    "a style with an extra instruction": ("", "", ["-s", "concise", "-i", "under 20 words"]),
    "translate with --to": ("", "", ["--to", "German"]),
    "a style in another language": ("max_tokens = 5", "", ["-s", "formal", "--to", "French"]),
}


def single_args(flags: list[str]) -> list[str]:
    """Batch's `-i TEXT` is single mode's instruction words beside the piped text."""
    out, words, i = [], [], 0
    while i < len(flags):
        if flags[i] == "-i":
            words.append(flags[i + 1])
            i += 2
            continue
        out.append(flags[i])
        i += 1
    return out + words


def sent_body(server) -> dict:
    body = server.last.json
    body.pop("stream", None)
    body.pop("stream_options", None)
    return body


@pytest.mark.parametrize("case", list(CASES))
def test_single_mode_and_batch_send_the_same_request(case, cli, config_file, tmp_path, monkeypatch):
    profile_keys, template_keys, flags = CASES[case]
    with make_server() as server:
        config_file(PROFILE.format(url=server.url, profile_keys=profile_keys, template_keys=template_keys))
        server.default = lambda r: stream_reply([TEXT.strip().upper()])
        single = cli(*single_args(flags), input=TEXT)
        assert single.code == 0, single.stderr
        single_body = sent_body(server)

        work = tmp_path / "w"
        work.mkdir()
        (work / "a.txt").write_text(TEXT)
        monkeypatch.chdir(work)
        batch = cli("batch", "a.txt", "--out", "o", "-q", *flags)
        assert batch.code == 0, batch.stderr
        batch_body = sent_body(server)
    assert batch_body == single_body
    assert len(server.requests) == 2


def test_the_cases_really_resolve_differently(cli, config_file):
    """The table is not vacuous: each case's request differs from the profile-only one somewhere."""
    seen = set()
    for profile_keys, template_keys, flags in CASES.values():
        with make_server() as server:
            config_file(PROFILE.format(url=server.url, profile_keys=profile_keys, template_keys=template_keys))
            assert cli(*single_args(flags), input=TEXT).code == 0
            seen.add(repr(sorted(sent_body(server).items())))
    assert len(seen) == len(CASES)


# -- the retry policy through both front-ends -----------------------------------------------------------

RETRY_CONFIG = """
default_profile = "r"

[profiles.r]
provider = "openai-compatible"
base_url = "{url}/v1"
model = "m"
{keys}
"""


def run_both(cli, config_file, tmp_path, monkeypatch, keys: str, replies, flags=()) -> list[tuple[int, int, str]]:
    """(exit code, requests seen, stderr) for single mode, then for a one-file batch, each against fresh replies."""
    out = []
    for mode in ("single", "batch"):
        with make_server() as server:
            config_file(RETRY_CONFIG.format(url=server.url, keys=keys))
            server.enqueue(*replies())
            if mode == "single":
                result = cli(*flags, "Fix it", input=TEXT)
            else:
                work = tmp_path / f"w-{len(out)}"
                work.mkdir()
                (work / "a.txt").write_text(TEXT)
                monkeypatch.chdir(work)
                result = cli("batch", "a.txt", "-i", "Fix it", "--out", "o", *flags)
            out.append((result.code, len(server.requests), result.stderr))
    return out


def busy(n: int, retry_after: str = "0"):
    return lambda: [error_reply(503, "busy", "server_error", headers={"Retry-After": retry_after})] * n


def test_profile_retries_is_the_default_in_both_modes(cli, config_file, tmp_path, monkeypatch):
    (s_code, s_requests, _), (b_code, b_requests, _) = run_both(
        cli, config_file, tmp_path, monkeypatch, "retries = 1", busy(5))
    assert (s_requests, b_requests) == (2, 2)  # one try and one retry, in both
    assert s_code == 1 and b_code == 3


def test_retries_flag_overrides_the_profile_in_both_modes(cli, config_file, tmp_path, monkeypatch):
    results = run_both(cli, config_file, tmp_path, monkeypatch, "retries = 1", busy(2), flags=["--retries", "2"])
    assert [(code, requests) for code, requests, _ in results] == [(0, 3), (0, 3)]
    assert all("retry 2/2" in err for _, _, err in results)


def test_retry_after_is_honoured_in_both_modes(cli, config_file, tmp_path, monkeypatch):
    results = run_both(cli, config_file, tmp_path, monkeypatch, "retries = 2", busy(1, "0.3"))
    assert [(code, requests) for code, requests, _ in results] == [(0, 2), (0, 2)]
    assert all("retry 1/2 in 0.3 s" in err for _, _, err in results)


def test_retry_after_past_max_wait_is_reported_in_both_modes(cli, config_file, tmp_path, monkeypatch):
    results = run_both(cli, config_file, tmp_path, monkeypatch, "retries = 2", busy(1, "5"), flags=["--max-wait", "1"])
    assert [(code, requests) for code, requests, _ in results] == [(1, 1), (3, 1)]
    assert all("retry after 5 s" in err for _, _, err in results)


def test_profile_max_wait_key(cli, config_file, tmp_path, monkeypatch):
    results = run_both(cli, config_file, tmp_path, monkeypatch, "retries = 2\nmax_wait = 1", busy(1, "5"))
    assert [requests for _, requests, _ in results] == [1, 1]


def test_a_broken_off_answer_is_asked_again_in_batch_only(cli, config_file, tmp_path, monkeypatch):
    from tests.fakes.server import Cut

    results = run_both(cli, config_file, tmp_path, monkeypatch, "retries = 2",
                       lambda: [stream_reply(["THE MEET"], tail=[Cut()])])
    (s_code, s_requests, s_err), (b_code, b_requests, b_err) = results
    assert (s_code, s_requests) == (1, 1)  # words were shown: single mode never replays them
    assert "incomplete answer" in s_err
    assert (b_code, b_requests) == (0, 2)  # nothing was shown: batch asks again
    assert "incomplete answer" in b_err and "retry 1/2" in b_err


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_ctrl_c_during_a_backoff_stops_at_once(mode, config_file, tmp_path):
    with make_server() as server:
        config_file(RETRY_CONFIG.format(url=server.url, keys="retries = 3"))
        server.enqueue(error_reply(503, "busy", "server_error", headers={"Retry-After": "50"}))
        (tmp_path / "a.txt").write_text(TEXT)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LLMCLI_CONFIG": str(tmp_path / "config.toml")}
        args = ["Fix it", "-f", "a.txt"] if mode == "single" else ["batch", "a.txt", "-i", "Fix it", "--out", "o"]
        proc = subprocess.Popen([sys.executable, "-m", "llmcli", *args], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # now in the 50 s wait
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 15  # far less than the 50 s backoff
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"retry 1/3 in 50.0 s" in err
    assert not Path(tmp_path / "o").exists() or not any(Path(tmp_path / "o").iterdir())
