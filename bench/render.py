"""Benchmark: streaming Markdown through LiveMarkdownWriter must cost time linear in the answer's size.

Run from a checkout:  python bench/render.py  [--delay-ms N] [--height ROWS] [--only NAME] [--naive]

Cases: 50, 100 and 200 KB mixed Markdown answers (paragraphs, lists, code
fences, tables, quotes), one 139 KB paragraph without a single line break,
and one 2,000-line code fence.  Each is fed in 20-60 character deltas (with
``--delay-ms`` between them, 2 ms by default, as a fast model streams) to a
LiveMarkdownWriter on a Rich console forced to be an interactive terminal
(so the Live path runs) of 100 columns and ``--height`` rows (200 by default:
a tall window is the worst case for the live preview), writing to a sink that
counts bytes.  Printed per case: process CPU seconds, bytes written, and the
same-run baseline -- Rich rendering the whole document once,
``console.print(Markdown(text))`` -- so that ratios, not absolute times,
are compared across machines.  ``--naive`` adds the approach to avoid,
``Live(Markdown(text_so_far))`` updated per delta (quadratic), on 10 KB.

The exit status is 1 if the 200 KB/50 KB CPU ratio says "not linear" or a
long block costs more than LONG_BLOCK_LIMIT times its whole-document render.
Only the standard library, Rich and this package are used.
"""

from __future__ import annotations

import argparse
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
#: A long block streamed live may cost at most this many whole-document renders of its text.
LONG_BLOCK_LIMIT = 60

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


def make_paragraph(size_kb: int = 139, seed: int = 3) -> str:
    """One paragraph, no line break at all: what a model writes when asked for "one paragraph"."""
    rng = random.Random(seed)
    parts, total = [], 0
    while total < size_kb * 1024:
        sentence = _sentence(rng) + " "
        parts.append(sentence)
        total += len(sentence)
    return "Intro line.\n\n" + "".join(parts).rstrip() + "\n"


def make_fence(lines: int = 2000) -> str:
    body = "\n".join(f"    value_{i} = transform(value_{i - 1}, step={i % 7})  # line {i}" for i in range(lines))
    return "Intro line.\n\n```python\n" + body + "\n```\n\nAfter the code.\n"


def deltas(text: str, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    out, pos = [], 0
    while pos < len(text):
        size = rng.randint(20, 60)
        out.append(text[pos:pos + size])
        pos += size
    return out


class CountingSink:
    """A text file that keeps only the number of bytes written (UTF-8) and of write calls."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self.bytes = 0
        self.writes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8"))
        self.writes += 1
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:  # no real terminal: the writer then leaves termios alone
        raise OSError("not a real file")


def make_console(sink, height: int) -> Console:
    return Console(file=sink, force_terminal=True, force_interactive=True, width=100, height=height,
                   color_system="truecolor", legacy_windows=False)


def run_writer(text: str, delay_s: float, height: int) -> tuple[float, int]:
    """(process CPU seconds, bytes written) for streaming text through the live writer."""
    pieces = deltas(text)
    sink = CountingSink()
    writer = LiveMarkdownWriter(make_console(sink, height))
    cpu = time.process_time()
    for piece in pieces:
        writer.feed(piece)
        if delay_s:
            time.sleep(delay_s)
    writer.finish()
    return time.process_time() - cpu, sink.bytes


def run_whole(text: str, height: int) -> tuple[float, int]:
    """The baseline: Rich rendering the whole document once, as if it had arrived at once."""
    sink = CountingSink()
    console = make_console(sink, height)
    cpu = time.process_time()
    console.print(Markdown(text))
    return time.process_time() - cpu, sink.bytes


def run_naive(text: str, height: int) -> float:
    """The approach to avoid: re-parse and re-render everything received so far, on every delta."""
    sink = CountingSink()
    console = make_console(sink, height)
    cpu = time.process_time()
    so_far = ""
    with Live(console=console, auto_refresh=False) as live:
        for piece in deltas(text):
            so_far += piece
            live.update(Markdown(so_far), refresh=True)
    return time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=2.0,
                        help="sleep between deltas, to imitate a real stream (default 2; CPU is the figure to read)")
    parser.add_argument("--height", type=int, default=200, help="terminal rows (default 200)")
    parser.add_argument("--only", choices=["sizes", "paragraph", "fence"], help="run one group of cases")
    parser.add_argument("--naive", action="store_true", help="also time the naive Live(Markdown(so_far)) on 10 KB")
    args = parser.parse_args()
    delay = args.delay_ms / 1000

    cases: list[tuple[str, str]] = []
    if args.only in (None, "sizes"):
        cases += [(f"{size} KB mixed", make_answer(size)) for size in SIZES_KB]
    if args.only in (None, "paragraph"):
        cases.append(("139 KB paragraph", make_paragraph()))
    if args.only in (None, "fence"):
        cases.append(("2000-line fence", make_fence()))

    print(f"LiveMarkdownWriter, deltas of 20-60 chars, {args.delay_ms:g} ms apart, console 100x{args.height} "
          "(forced interactive terminal); baseline: Rich renders the whole document once, same run")
    print(f"{'case':>17} {'deltas':>7} {'cpu s':>7} {'bytes':>10} | {'whole cpu s':>11} {'whole bytes':>11} | "
          f"{'cpu ratio':>9} {'bytes ratio':>11}")
    status = 0
    cpu_of: dict[str, float] = {}
    for name, text in cases:
        cpu, written = run_writer(text, delay, args.height)
        whole_cpu, whole_bytes = run_whole(text, args.height)
        cpu_of[name] = cpu
        ratio = cpu / max(whole_cpu, 1e-3)
        print(f"{name:>17} {len(deltas(text)):>7} {cpu:>7.2f} {written:>10,} | {whole_cpu:>11.3f} {whole_bytes:>11,} | "
              f"{ratio:>9.1f} {written / whole_bytes:>11.2f}")
        if name in ("139 KB paragraph", "2000-line fence") and ratio > LONG_BLOCK_LIMIT:
            print(f"  -> {name}: more than {LONG_BLOCK_LIMIT}x a whole render: the live tail is not O(new text)")
            status = 1

    if "50 KB mixed" in cpu_of and "200 KB mixed" in cpu_of:
        ratio = cpu_of["200 KB mixed"] / cpu_of["50 KB mixed"]
        verdict = "linear" if ratio < 5.5 else "NOT linear"
        print(f"\nCPU 200KB/50KB = {ratio:.2f} (linear: ~4, quadratic: ~16) -> {verdict}")
        if verdict != "linear":
            status = 1

    if args.naive:
        text = make_answer(10)
        naive = run_naive(text, args.height)
        ours, _ = run_writer(text, 0.0, args.height)
        print(f"\nnaive Live(Markdown(text_so_far)) per delta, 10 KB: {naive:.2f} s CPU; ours {ours:.2f} s "
              f"-> {naive / max(ours, 1e-3):.0f}x")
    return status


if __name__ == "__main__":
    sys.exit(main())
