"""-s/--style, templates, -V, --to, the clean-up and `llmcli styles`, through the CLI and the fake server."""

from __future__ import annotations

import pytest

from llmcli.presets import RULES
from tests.fakes.openai_wire import stream_reply

from .conftest import assert_one_line_error

FAKE = """
default_profile = "fake"

[profiles.fake]
provider = "openai-compatible"
base_url = "{url}/v1"
model = "fake-model"
retries = 0
"""


def messages(request) -> dict[str, str]:
    return {m["role"]: m["content"] for m in request.json["messages"]}


def test_style_with_words_only_rewrites_the_words(cli, fake_profile):
    result = cli("-s", "formal", "hey can u send it")
    assert result.code == 0, result.stderr
    sent = messages(fake_profile.last)
    assert sent["system"] == RULES
    assert sent["user"].startswith("Rewrite the text in a formal")
    assert sent["user"].endswith("\n\n<text>\nhey can u send it\n</text>")
    assert result.stdout == "Hello from fake server!\n"


def test_style_with_stdin_makes_words_an_extra_instruction(cli, fake_profile):
    assert cli("-s", "concise", "under 50 words", input="a long mail\n").code == 0
    user = messages(fake_profile.last)["user"]
    assert "\n\nAlso: under 50 words\n\n<text>\na long mail\n</text>" in user


def test_style_with_file(cli, fake_profile, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("teh text\n")
    assert cli("-s", "fix", "-f", str(f)).code == 0
    assert messages(fake_profile.last)["user"].endswith("<text>\nteh text\n</text>")


def test_style_without_text_is_a_usage_error(cli, fake_profile):
    result = cli("-s", "formal")
    assert result.code == 2
    assert_one_line_error(result.stderr, "nothing to send")


def test_translate_with_to_and_to_alone(cli, fake_profile):
    assert cli("-s", "translate", "--to", "German", "good morning").code == 0
    assert messages(fake_profile.last)["user"].startswith("Translate the text into German.")
    assert cli("--to", "fr", "good night").code == 0
    assert messages(fake_profile.last)["user"].startswith("Translate the text into fr.")


def test_translate_without_language(cli, fake_profile):
    result = cli("-s", "translate", "hello")
    assert result.code == 2
    assert_one_line_error(result.stderr, "style 'translate' needs variable lang", "--to LANG")
    assert fake_profile.requests == []


def test_unknown_style(cli, fake_profile):
    result = cli("-s", "fromal", "x")
    assert result.code == 2
    assert_one_line_error(result.stderr, "unknown style 'fromal'", "did you mean 'formal'")


def test_var_without_style(cli, fake_profile):
    result = cli("-V", "a=b", "x")
    assert result.code == 2
    assert_one_line_error(result.stderr, "-V/--var", "-s NAME")


def test_template_with_variables_and_settings(cli, config_file, openai_server):
    config_file(FAKE.format(url=openai_server.url) + """
[profiles.other]
provider = "openai-compatible"
base_url = "{url}/v1"
model = "other-model"

[templates.tone]
description = "rewrite for an audience"
system = "You write for {audience}."
prompt = "Rewrite for {audience} in {lang}: {input}"
defaults = { lang = "English" }
profile = "other"
model = "tmpl-model"
temperature = 0.1
""".replace("{url}", openai_server.url))
    result = cli("-s", "tone", "-V", "audience=kids", "the {lang} of {input}")
    assert result.code == 0, result.stderr
    body = openai_server.last.json
    sent = messages(openai_server.last)
    assert sent["system"] == "You write for kids."
    assert sent["user"] == "Rewrite for kids in English: <text>\nthe {lang} of {input}\n</text>"
    assert (body["model"], body["temperature"]) == ("tmpl-model", 0.1)
    # -m/-t on the command line win over the template
    assert cli("-s", "tone", "-V", "audience=kids", "-m", "cli-model", "-t", "0.9", "x").code == 0
    assert (openai_server.last.json["model"], openai_server.last.json["temperature"]) == ("cli-model", 0.9)


def test_template_missing_variable(cli, config_file, openai_server):
    config_file(FAKE.format(url=openai_server.url) + '\n[templates.t]\nprompt = "For {audience}."\n')
    result = cli("-s", "t", "x")
    assert result.code == 2
    assert_one_line_error(result.stderr, "style 't' needs variable audience", "-V audience=")


def test_unused_var_warns(cli, fake_profile):
    result = cli("-s", "fix", "-V", "tone=warm", "x")
    assert result.code == 0
    assert "style 'fix' does not use variable 'tone'" in result.stderr


@pytest.mark.parametrize("toml, needle", [
    ('[templates.t]\nsytem = "x"\n', "c.toml:2: template 't': unknown key 'sytem' (did you mean 'system'?)"),
    ('[templates.t]\nprompt = 3\n', "c.toml:2: template 't': 'prompt' must be a string, not an integer"),
    ('[templates.t]\nprompt = "x"\nprofile = "nope"\n', "c.toml:3: template 't': unknown profile 'nope'"),
    ('[templates.t]\ndescription = "x"\n', "c.toml:1: template 't': needs a 'system' or a 'prompt'"),
])
def test_template_validation(cli, config_file, toml, needle):
    path = config_file(toml)
    result = cli("styles")
    assert result.code == 2
    assert_one_line_error(result.stderr.replace(str(path), "c.toml"), needle)


def test_styles_lists_builtins_and_templates(cli, config_file):
    config_file('[templates.formal]\nsystem = "Be stiff."\n\n[templates.mine]\nprompt = "Do my thing."\n')
    result = cli("styles")
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert len(rows) >= 12
    assert "template (overrides built-in)" in rows["formal"]
    assert "template" in rows["mine"] and "Do my thing." in rows["mine"]
    assert "built-in" in rows["fix"] and "spelling" in rows["fix"]


def test_styles_show_prints_the_full_instruction(cli):
    result = cli("styles", "show", "fix")
    assert result.code == 0
    assert RULES in result.stdout and "Correct spelling, grammar" in result.stdout
    assert cli("styles", "show", "nope").code == 2


def test_clean_removes_a_wrapping_fence(cli, fake_profile):
    fake_profile.enqueue(stream_reply(["```text\n", "Dear Sir,", "\nplease send it.\n", "```"]))
    result = cli("-s", "formal", "hey send it")
    assert result.code == 0
    assert result.stdout == "Dear Sir,\nplease send it.\n"


def test_no_clean_keeps_the_answer(cli, fake_profile):
    fake_profile.enqueue(stream_reply(['"Hi."']))
    result = cli("-s", "formal", "--no-clean", "hi")
    assert result.stdout == '"Hi."\n'
    fake_profile.enqueue(stream_reply(['"Hi."']))
    assert cli("-s", "formal", "hi").stdout == "Hi.\n"


def test_clean_applies_to_json_and_output_file(cli, fake_profile, tmp_path):
    import json

    fake_profile.enqueue(stream_reply(["```\nok\n```"]))
    assert json.loads(cli("--json", "-s", "fix", "x").stdout)["text"] == "ok"
    out = tmp_path / "o.txt"
    fake_profile.enqueue(stream_reply(["```\nok\n```"]))
    assert cli("-o", str(out), "-s", "fix", "x").code == 0
    assert out.read_text() == "ok\n"


# -- --diff ----------------------------------------------------------------------------------


def test_diff_in_a_pipe_is_a_unified_diff_only(cli, fake_profile, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("teh cat sat\n")
    fake_profile.enqueue(stream_reply(["the cat sat"]))
    result = cli("-s", "fix", "--diff", "-f", str(f))
    assert result.code == 0, result.stderr
    assert result.stdout == f"--- {f}\n+++ {f}\n@@ -1 +1 @@\n-teh cat sat\n+the cat sat\n"


def test_diff_of_stdin_and_no_changes(cli, fake_profile):
    fake_profile.enqueue(stream_reply(["Same text."]))
    result = cli("-s", "fix", "--diff", input="Same text.\n")
    assert result.code == 0 and result.stdout == ""
    assert "no changes" in result.stderr
    fake_profile.enqueue(stream_reply(["New text."]))
    result = cli("-s", "fix", "--diff", input="Old text.\n")
    assert result.stdout.startswith("--- stdin\n+++ stdin\n")


def test_diff_with_output_writes_the_file_and_prints_the_diff(cli, fake_profile, tmp_path):
    f, out = tmp_path / "a.txt", tmp_path / "b.txt"
    f.write_text("one\ntwo\n")
    fake_profile.enqueue(stream_reply(["one\n2\n"]))
    result = cli("-s", "fix", "--diff", "-f", str(f), "-o", str(out))
    assert result.code == 0
    assert out.read_text() == "one\n2\n"
    assert "-two\n+2\n" in result.stdout


def test_diff_needs_one_text(cli, fake_profile, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    result = cli("-s", "fix", "--diff", "-f", str(a), "-f", str(b))
    assert result.code == 2
    assert_one_line_error(result.stderr, "--diff needs exactly one text")
    assert cli("--diff", "Explain DNS").code == 2


def test_diff_on_a_terminal_is_coloured_after_the_answer(fake_profile, tmp_path, config_file):
    """A real pty: the answer is rendered, then a word-level diff with colours."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import ROOT

    fake_profile.enqueue(stream_reply(["the cat sat"]))
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80", "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "llmcli", "-s", "fix", "--diff", "teh cat sat"],
                            stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    out = b"".join(chunks).decode()
    assert proc.returncode == 0
    assert "\x1b[" in out  # coloured
    assert "teh" in out and out.index("the cat sat") < out.rindex("teh")  # answer first, then the diff


def test_var_must_be_name_equals_value(cli, fake_profile):
    result = cli("-s", "fix", "-V", "novalue", "x")
    assert result.code == 2
    assert_one_line_error(result.stderr, "-V novalue: expected NAME=VALUE")


def test_diff_of_words_given_as_text(cli, fake_profile):
    fake_profile.enqueue(stream_reply(["the cat"]))
    result = cli("-s", "fix", "--diff", "teh cat")
    assert result.stdout.startswith("--- text\n+++ text\n")
