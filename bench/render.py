"""Benchmark: streaming Markdown through LiveMarkdownWriter must cost time linear in the answer's size.

Run from a checkout:  python bench/render.py  [--delay-ms N] [--no-baseline]

Generates 50, 100 and 200 KB Markdown answers (paragraphs, lists, code
fences, tables, quotes), feeds each in 20-60 character deltas to a
LiveMarkdownWriter on a Rich console that is forced to be an interactive
terminal (so the Live path runs) writing to /dev/null, and prints wall and
process CPU time.  The baseline is the naive approach -- a
``Live(Markdown(text_so_far))`` updated on every delta -- on the largest size
it can do in about 30 s; it is quadratic.

Only the standard library, Rich and this package are used.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.live import Live  # noqa: E402
from rich.markdown import Markdown  # noqa: E402

from llmcli.markdown_live import LiveMarkdownWriter  # noqa: E402

SIZES_KB = (50, 100, 200)
BASELINE_BUDGET_S = 30.0

WORDS = ("the", "stream", "renders", "markdown", "block", "terminal", "answer", "with", "`code`", "**bold**",
         "*emphasis*", "quickly", "every", "line", "table", "list", "item", "value", "returns", "config")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def _block(rng: random.Random, index: int) -> str:
    kind = rng.choices(["para", "bullets", "numbers", "code", "table", "heading", "quote"],
                       weights=[5, 2, 2, 2, 1, 1, 1])[0]
    if kind == "para":
        return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))
    if kind == "bullets":
        sep = rng.choice(["\n", "\n\n"])  # tight or loose
        return sep.join(f"- {_sentence(rng)}" for _ in range(rng.randint(3, 8)))
    if kind == "numbers":
        return "\n".join(f"1. {_sentence(rng)}" for _ in range(rng.randint(3, 8)))
    if kind == "code":
        lines = [f"    result_{i} = compute({i}, factor={rng.randint(1, 9)})  # step {i}"
                 for i in range(rng.randint(5, 25))]
        return "```python\ndef step_%d():\n%s\n    return result_0\n```" % (index, "\n".join(lines))
    if kind == "table":
        rows = "\n".join(f"| {i} | {rng.choice(WORDS)} | {rng.randint(0, 9999)} |" for i in range(rng.randint(3, 6)))
        return f"| # | name | value |\n|---|:----|----:|\n{rows}"
    if kind == "heading":
        return "#" * rng.randint(1, 3) + f" Part {index}"
    return "\n".join(f"> {_sentence(rng)}" for _ in range(rng.randint(1, 3)))


def make_answer(size_kb: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    parts, total, index = [], 0, 0
    while total < size_kb * 1024:
        block = _block(rng, index) + "\n\n"
        parts.append(block)
        total += len(block)
        index += 1
    return "".join(parts)


def deltas(text: str, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(text):
        size = rng.randint(20, 60)
        out.append(text[pos:pos + size])
        pos += size
    return out


def make_console(sink) -> Console:
    return Console(file=sink, force_terminal=True, force_interactive=True, width=100, height=40,
                   color_system="truecolor", legacy_windows=False)


def run_writer(text: str, delay_s: float) -> tuple[float, float]:
    pieces = deltas(text)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        writer = LiveMarkdownWriter(make_console(sink))
        wall, cpu = time.perf_counter(), time.process_time()
        for piece in pieces:
            writer.feed(piece)
            if delay_s:
                time.sleep(delay_s)
        writer.finish()
        return time.perf_counter() - wall, time.process_time() - cpu


def run_naive(text: str) -> tuple[float, float]:
    """The approach to avoid: re-parse and re-render everything received so far, on every delta."""
    pieces = deltas(text)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        console = make_console(sink)
        wall, cpu = time.perf_counter(), time.process_time()
        so_far = ""
        with Live(console=console, auto_refresh=False) as live:
            for piece in pieces:
                so_far += piece
                live.update(Markdown(so_far), refresh=True)
        return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="sleep between deltas, to imitate a real stream (CPU is then the figure to read)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    args = parser.parse_args()
    delay = args.delay_ms / 1000

    print(f"LiveMarkdownWriter, deltas of 20-60 chars, delay {args.delay_ms:g} ms, console 100x40 "
          "(forced interactive terminal) -> /dev/null")
    print(f"{'size':>7} {'deltas':>7} {'wall s':>8} {'cpu s':>8} {'cpu s/100KB':>12} {'cpu ratio':>10} {'wall ratio':>11}")
    results: dict[int, tuple[float, float]] = {}
    for size in SIZES_KB:
        text = make_answer(size)
        wall, cpu = run_writer(text, delay)
        results[size] = (wall, cpu)
        base_wall, base_cpu = results[SIZES_KB[0]]
        print(f"{size:>5}KB {len(deltas(text)):>7} {wall:>8.2f} {cpu:>8.2f} {cpu / size * 100:>12.2f} "
              f"{cpu / base_cpu:>10.2f} {wall / base_wall:>11.2f}")

    ratio = results[200][1] / results[50][1]
    verdict = "linear" if ratio < 5.5 else "NOT linear"
    print(f"\nCPU 200KB/50KB = {ratio:.2f} (linear: ~4, quadratic: ~16) -> {verdict}")

    if not args.no_baseline:
        probe_kb = 10
        _, probe_cpu = run_naive(make_answer(probe_kb))
        size = probe_kb
        for candidate in (50, 20):  # quadratic: time grows with the square of the size
            if probe_cpu * (candidate / probe_kb) ** 2 <= BASELINE_BUDGET_S:
                size = candidate
                break
        text = make_answer(size)
        naive_wall, naive_cpu = run_naive(text) if size != probe_kb else (None, probe_cpu)
        ours_wall, ours_cpu = results[size] if size in results else run_writer(text, 0.0)
        print(f"\nbaseline, naive Live(Markdown(text_so_far)) updated per delta, {size} KB "
              f"(10 KB probe took {probe_cpu:.2f} s CPU):")
        if naive_wall is not None:
            print(f"  naive: {naive_wall:.2f} s wall, {naive_cpu:.2f} s CPU")
        else:
            print(f"  naive: {naive_cpu:.2f} s CPU")
        print(f"  ours:  {ours_wall:.2f} s wall, {ours_cpu:.2f} s CPU  -> naive/ours CPU = "
              f"{naive_cpu / ours_cpu:.1f}x")
    return 0 if verdict == "linear" else 1


if __name__ == "__main__":
    sys.exit(main())
