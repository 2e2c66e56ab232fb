"""Start-up before/after the first-run branch, in the same run (bench/startup.py's method).

Times `llmcli --help` and a one-shot (`llmcli hi` against the fake OpenAI server
on 127.0.0.1) for each source tree given, plus the same trees with Typer's
`add_completion=True` switched on (the alternative to `llmcli completion SHELL`).
Runs are interleaved round-robin so that a noisy machine hits every variant
alike; compare medians of the same run.

Usage: python notes/bench_startup_firstrun.py BEFORE_TREE AFTER_TREE [--runs N]
(e.g. BEFORE_TREE from `git archive main | tar -x -C /tmp/before`).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLAIN = "import sys; sys.argv[0] = 'llmcli'; from llmcli.cli import entry; entry()"
TYPER_COMPLETION = ("import sys; sys.argv[0] = 'llmcli'; import llmcli.cli as c; "
                    "c.app._add_completion = True; c.entry()")


CWD = tempfile.mkdtemp()  # not a source tree: `python -c` puts the working directory first on sys.path


def time_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run: CPU time is what a loaded machine blurs least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
                          cwd=CWD)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-300:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from tests.fakes.openai_wire import make_server

    tmp = Path(tempfile.mkdtemp())
    with make_server() as server:
        config = tmp / "config.toml"
        config.write_text(f'default_profile = "fake"\n[profiles.fake]\nprovider = "openai-compatible"\n'
                          f'base_url = "{server.url}/v1"\nmodel = "fake-model"\nretries = 0\n')
        config.chmod(0o600)
        variants: dict[str, tuple[list[str], dict[str, str]]] = {}
        for tree in args.trees:
            name = Path(tree).name
            env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve()), "LLMCLI_CONFIG": str(config),
                   "NO_PROXY": "127.0.0.1"}
            for label, code in (("", PLAIN), (" +typer add_completion", TYPER_COMPLETION)):
                variants[f"{name}{label}: --help"] = ([sys.executable, "-c", code, "--help"], env)
                variants[f"{name}{label}: one-shot"] = ([sys.executable, "-c", code, "hi"], env)
        times: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        for name, (argv, env) in variants.items():  # warm-up: .pyc files exist before timing
            time_once(argv, env)
            where = subprocess.run([sys.executable, "-c", "import llmcli.cli as c; print(c.__file__)"], env=env,
                                   cwd=CWD, capture_output=True, text=True).stdout.strip()
            assert where.startswith(env["PYTHONPATH"]), (name, where)
        for _ in range(args.runs):
            for name, (argv, env) in variants.items():
                wall, used = time_once(argv, env)
                times[name].append(wall)
                cpu[name].append(used)
    print(f"{'variant':44} {'wall median ms':>14} {'min':>6} {'max':>6} {'CPU median ms':>14} {'min':>6}")
    for name, values in times.items():
        print(f"{name:44} {statistics.median(values) * 1000:14.0f} {min(values) * 1000:6.0f} "
              f"{max(values) * 1000:6.0f} {statistics.median(cpu[name]) * 1000:14.0f} {min(cpu[name]) * 1000:6.0f}")
    print(f"runs={args.runs}, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
