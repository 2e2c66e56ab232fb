"""Loading time of a config file of many profiles: it should grow linearly with the file.

Writes configs of N profiles (7 lines each) and prints the best of a few loads,
so the ratio between sizes shows the growth (1,000 profiles took 3.3-3.9 s when
every key's line was found by rescanning the file; ~0.07 s with the lines
indexed once).

Usage: python bench/config_load.py [--sizes 250,1000,4000] [--runs 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def config_text(n: int) -> str:
    return "\n".join(
        f'[profiles.p{i}]\nprovider = "openai-compatible"\nbase_url = "http://h{i}:8000/v1"\nmodel = "m{i}"\n'
        f'temperature = 0.3\nretries = 1\nheaders = {{ "X-A" = "b" }}\n'
        for i in range(n)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="250,1000,4000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # this checkout's llmcli, whatever is installed
    from llmcli import config as C

    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"c{n}.toml"
            path.write_text(config_text(n))
            best = float("inf")
            for _ in range(args.runs):
                started = time.perf_counter()
                C.load(path)
                best = min(best, time.perf_counter() - started)
            print(f"{n:6d} profiles: {best * 1000:8.1f} ms  ({best / n * 1e6:.0f} us per profile)")


if __name__ == "__main__":
    main()
