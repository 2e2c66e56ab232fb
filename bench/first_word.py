"""Time to the first word of a one-shot rewrite, beside the bare SDK doing the same call.

For each run it starts a process, and measures the wall time from its start to
the first byte on its stdout and to its exit:
  llmcli -p bench "Rewrite this formally" < text     (the whole CLI: config, input, SDK, stream, output)
  python -c <openai SDK streaming the same request>  (the floor: the SDK import and the HTTP call alone)
Runs are interleaved; the ratios are the figures to compare on a noisy machine.

The server is an OpenAI-compatible endpoint: by default the repo's loopback fake
(tests/fakes, answering at once), or a real one with --base-url, e.g. a local
llama-server: python bench/first_word.py --base-url http://127.0.0.1:8089/v1

Usage: python bench/first_word.py [--runs N] [--base-url URL] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT = "hey can u send the report asap, need it for the meeting tmrw\n"

SDK_SCRIPT = """
import sys
from openai import OpenAI
client = OpenAI(api_key="not-needed", base_url=sys.argv[1], max_retries=0)
text = sys.stdin.read()
stream = client.chat.completions.create(
    model=sys.argv[2], stream=True, max_tokens=int(sys.argv[3]),
    messages=[{"role": "user", "content": "Rewrite this formally\\n\\n<text>\\n" + text + "</text>"}],
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
"""


def first_byte_and_exit(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    proc.stdin.write(TEXT.encode())
    proc.stdin.close()
    first = None
    while True:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        if not ready:
            proc.kill()
            raise SystemExit(f"no output from {argv[:3]} within 60 s")
        data = os.read(proc.stdout.fileno(), 65536)
        if first is None and data:
            first = time.perf_counter() - start
        if not data:
            break
    proc.wait()
    if proc.returncode != 0 or first is None:
        raise SystemExit(f"{' '.join(argv[:4])} failed (exit {proc.returncode})")
    return first, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--base-url", help="an OpenAI-compatible server (default: the loopback fake)")
    parser.add_argument("--model", default="bench-model")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()

    server = None
    base_url = args.base_url
    if base_url is None:
        from tests.fakes.openai_wire import make_server

        server = make_server().start()
        base_url = server.url + "/v1"

    tmp = Path(tempfile.mkdtemp())
    config = tmp / "config.toml"
    config.write_text(
        f'[profiles.bench]\nprovider = "openai-compatible"\nbase_url = "{base_url}"\n'
        f'model = "{args.model}"\nmax_tokens = {args.max_tokens}\nretries = 0\n'
    )
    env = {**os.environ, "LLMCLI_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    llmcli = Path(sys.executable).with_name("llmcli")
    cli = [str(llmcli)] if llmcli.exists() else [sys.executable, "-m", "llmcli"]
    commands = {
        "llmcli (whole CLI)": cli + ["-p", "bench", "Rewrite this formally"],
        "openai SDK alone": [sys.executable, "-c", SDK_SCRIPT, base_url, args.model, str(args.max_tokens)],
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for argv in commands.values():
        first_byte_and_exit(argv, env)  # warm-up
    for _ in range(args.runs):
        for name, argv in commands.items():
            results[name].append(first_byte_and_exit(argv, env))

    floor_first = statistics.median(r[0] for r in results["openai SDK alone"])
    floor_total = statistics.median(r[1] for r in results["openai SDK alone"])
    print(f"server: {base_url}{' (loopback fake)' if server else ''}; runs={args.runs}")
    print(f"{'command':22} {'first word ms':>13} {'min':>6} {'max':>6} {'exit ms':>8} {'vs SDK alone':>13}")
    for name, rows in results.items():
        firsts = [r[0] for r in rows]
        totals = [r[1] for r in rows]
        med_first, med_total = statistics.median(firsts), statistics.median(totals)
        print(f"{name:22} {med_first * 1000:13.0f} {min(firsts) * 1000:6.0f} {max(firsts) * 1000:6.0f} "
              f"{med_total * 1000:8.0f} {med_first / floor_first:12.2f}x")
    overhead = (statistics.median(r[0] for r in results["llmcli (whole CLI)"]) - floor_first) * 1000
    print(f"\nllmcli's own cost on top of the SDK call: {overhead:+.0f} ms to the first word "
          f"(exit: {(statistics.median(r[1] for r in results['llmcli (whole CLI)']) - floor_total) * 1000:+.0f} ms)")
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
