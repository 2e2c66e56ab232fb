"""scripts/local-llm-server.sh while it builds: progress lines, and a stop that takes the whole build with it.

Nothing is compiled or downloaded: a throwaway cache, a fake Python whose venv
"downloads" a tiny sdist, and a fake cmake whose build prints ninja-style
steps slowly.  The real cache (~/.cache/llmcli-local-llm) is never touched:
HOME is a temp dir (tests/conftest.py) and LLMCLI_LLM_CACHE points elsewhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPT = ROOT / "scripts" / "local-llm-server.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash on this machine")

FAKE_PYTHON = """#!/bin/sh
# The script's $PYTHON: `-m venv DIR` makes a venv whose python is the fake pip below.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin" && cp "$FAKES/venv-python" "$3/bin/python" && exit 0
fi
exec python3 "$@"
"""

FAKE_VENV_PYTHON = """#!/bin/sh
# `python -m pip download ... --dest DIR spec`: the sdist comes from the fakes' dir.
while [ $# -gt 0 ]; do
    if [ "$1" = "--dest" ]; then dest=$2; fi
    shift
done
mkdir -p "$dest" && cp "$FAKES"/llama_cpp_python-*.tar.gz "$dest/"
"""

FAKE_CMAKE = """#!/bin/sh
if [ "$1" = "-S" ]; then echo "-- Configuring done"; exit 0; fi
echo $$ > "$FAKES/build.pid"
dir=$2
for i in 1 2 3; do
    echo "[$i/3] Building CXX object common/part$i.o"
    sleep "$FAKE_STEP_SECONDS"
done
mkdir -p "$dir/bin"
printf '#!/bin/sh\\necho "version: 0 (fake)"\\n' > "$dir/bin/llama-server"
chmod +x "$dir/bin/llama-server"
"""


@pytest.fixture
def fake_build(tmp_path):
    """(env, cache): the script's environment with fakes first on PATH, and its throwaway cache."""
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    for name, text in (("python", FAKE_PYTHON), ("venv-python", FAKE_VENV_PYTHON), ("cmake", FAKE_CMAKE),
                       ("c++", "#!/bin/sh\nexit 0\n")):
        path = fakes / name
        path.write_text(text)
        path.chmod(0o755)
    sdist = tmp_path / "sdist" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"
    sdist.mkdir(parents=True)
    (sdist / "CMakeLists.txt").write_text("project(fake)\n")
    with tarfile.open(fakes / "llama_cpp_python-0.3.36.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "sdist" / "llama_cpp_python-0.3.36", arcname="llama_cpp_python-0.3.36")
    cache = tmp_path / "cache"
    (cache / "model").mkdir(parents=True)
    (cache / "model" / "gemma-3-270m-q4_k_m.gguf").write_bytes(b"GGUF fake")  # the model is "cached"
    env = {
        **os.environ,
        "PATH": f"{fakes}{os.pathsep}{os.environ['PATH']}",
        "FAKES": str(fakes),
        "LLMCLI_LLM_CACHE": str(cache),
        "LLMCLI_LLM_PYTHON": str(fakes / "python"),
        "LLMCLI_LLM_PROGRESS_EVERY": "1",
        "FAKE_STEP_SECONDS": "1.2",
    }
    return env, cache


def test_a_slow_build_says_how_long_how_far_and_where_its_log_is(fake_build):
    env, cache = fake_build
    done = subprocess.run(["bash", str(SCRIPT), "build"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # progress goes to stderr only
    progress = [line for line in done.stderr.splitlines() if "llama-server: compiling: still running after" in line]
    assert len(progress) >= 2, done.stderr
    assert "(step [1/3])" in done.stderr or "(step [2/3])" in done.stderr
    assert all(line.startswith("[local-llm] ") and f"log: {cache}/build." in line and line.endswith("/build.log")
               for line in progress), progress
    assert "0m0" in progress[0]  # elapsed as minutes and seconds
    assert "llama-server: built [" in done.stderr and "ready [" in done.stderr
    assert (cache / "bin" / "llama-server").exists()
    assert not list(cache.glob("build.*"))  # the work dir is gone
    again = subprocess.run(["bash", str(SCRIPT), "build"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "llama-server: cached" in again.stderr and "still running" not in again.stderr


def test_sigterm_during_the_build_stops_the_whole_build(fake_build):
    env, cache = fake_build
    env["FAKE_STEP_SECONDS"] = "30"
    proc = subprocess.Popen(["bash", str(SCRIPT), "build"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    pid_file = Path(env["FAKES"]) / "build.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pid_file.exists(), "the fake build never started"
    time.sleep(0.3)
    build_pid = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    deadline = time.monotonic() + 10
    while _alive(build_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(build_pid), "the build outlived the script"
    assert not list(cache.glob("build.*")) and not (cache / "bin" / "llama-server").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))  # a zombie is gone
