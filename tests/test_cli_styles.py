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
