"""Start-up time of llmcli beside the floor of its stack, measured in the same run.

Prints the median wall time (and min/max) of:
  llmcli --help, llmcli --version, llmcli profiles
  a bare Typer app of three commands answering --help (the floor; goal: llmcli --help within 1.2x),
  with Typer's default Rich help and with plain help (rich_markup_mode=None, which llmcli uses)
  python -c "import typer, rich"
Runs are interleaved round-robin so that drift on a noisy machine hits every command alike;
compare the ratios, not the absolute times.

Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_APP = '''
import sys
import typer
app = typer.Typer(rich_markup_mode=None if "--plain" in sys.argv else "rich")
sys.argv = [a for a in sys.argv if a != "--plain"]

@app.command()
def first(name: str = "x"):
    """First command."""

@app.command()
def second():
    """Second command."""

@app.command()
def third():
    """Third command."""

app()
'''


def llmcli_argv() -> list[str]:
    script = Path(sys.executable).with_name("llmcli")
    if script.exists():
        return [str(script)]
    found = shutil.which("llmcli")
    return [found] if found else [sys.executable, "-m", "llmcli"]


def time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp())
    bare = tmp / "bare_typer.py"
    bare.write_text(BARE_APP)
    env = {**os.environ, "LLMCLI_CONFIG": str(tmp / "none.toml"), "PYTHONPATH": str(ROOT)}
    env.pop("LLMCLI_CONFIG")  # no config file: built-ins only
    env["XDG_CONFIG_HOME"] = str(tmp)
    cli = llmcli_argv()
    commands = {
        "llmcli --help": cli + ["--help"],
        "llmcli --version": cli + ["--version"],
        "llmcli profiles": cli + ["profiles"],
        "bare Typer app --help": [sys.executable, str(bare), "--help"],
        "bare Typer app --help, plain help": [sys.executable, str(bare), "--plain", "--help"],
        'python -c "import typer, rich"': [sys.executable, "-c", "import typer, rich"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm-up: .pyc files exist before timing
        time_once(argv, env)
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(time_once(argv, env))

    floor = statistics.median(times["bare Typer app --help"])
    print(f"{'command':36} {'median ms':>9} {'min':>6} {'max':>6} {'vs bare Typer':>14}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:36} {med * 1000:9.0f} {min(values) * 1000:6.0f} {max(values) * 1000:6.0f} {med / floor:13.2f}x")
    ratio = statistics.median(times["llmcli --help"]) / floor
    plain = statistics.median(times["llmcli --help"]) / statistics.median(times["bare Typer app --help, plain help"])
    verdict = "within" if ratio <= 1.2 else "OVER"
    print(f"\nllmcli --help / bare Typer --help = {ratio:.2f}x ({verdict} the 1.2x goal); "
          f"vs the same app with plain help: {plain:.2f}x; runs={args.runs}, python {sys.version.split()[0]}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
