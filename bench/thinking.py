"""Benchmark: the CPU the inline-think splitter (llmcli/thinking.py) costs on a 100 KB answer in 4-character deltas.

Run from a checkout:  python bench/thinking.py  [--kb N] [--runs N]

For each shape of answer it passes the same list of events (TextDelta of 4
characters, then Usage and Done) through ``thinking.split`` and, as the
same-run baseline, through an identity generator (what any event consumer
costs at the least), and prints the best-of-N process CPU time of each and
their ratio.  Shapes: a plain answer (no tag: the splitter must get out of
the way), an answer after a think block as long as itself, and a
forced-open block (``opened=True``).

Only the standard library and this package are used.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmcli.providers.base import Done, Event, ReasoningDelta, TextDelta, Usage  # noqa: E402
from llmcli.thinking import split  # noqa: E402

WORDS = "the model rewrites every sentence of this answer with care and keeps its meaning intact ".split()


def text_of(size: int) -> str:
    out: list[str] = []
    n = 0
    i = 0
    while n < size:
        word = WORDS[i % len(WORDS)] + ("\n" if i % 17 == 16 else " ")
        out.append(word)
        n += len(word)
        i += 1
    return "".join(out)[:size]


def events_of(text: str, delta: int = 4) -> list[Event]:
    events: list[Event] = [TextDelta(text[i:i + delta]) for i in range(0, len(text), delta)]
    return events + [Usage(10, 20, 30), Done("stop", "m", "complete")]


def identity(events: Iterator[Event]) -> Iterator[Event]:
    yield from events


def consume(transform: Callable[[Iterator[Event]], Iterator[Event]], events: list[Event]) -> tuple[float, int, int]:
    """CPU seconds to run ``events`` through ``transform`` and read every event; the text and reasoning sizes."""
    text = reasoning = 0
    start = time.process_time()
    for event in transform(iter(events)):
        if isinstance(event, TextDelta):
            text += len(event.text)
        elif isinstance(event, ReasoningDelta):
            reasoning += len(event.text)
    return time.process_time() - start, text, reasoning


def best(transform, events, runs: int) -> tuple[float, int, int]:
    results = [consume(transform, events) for _ in range(runs)]
    return min(r[0] for r in results), results[0][1], results[0][2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=100, help="answer size in KB (default 100)")
    parser.add_argument("--runs", type=int, default=15, help="runs of each, best kept (default 15)")
    args = parser.parse_args()
    size = args.kb * 1000
    answer = text_of(size)
    shapes = {
        "plain answer": events_of(answer),
        "think block + answer": events_of("<think>\n" + text_of(size // 2) + "\n</think>\n\n" + answer[: size // 2]),
        "opened block + answer": events_of(text_of(size // 2) + "\n</think>\n\n" + answer[: size // 2]),
    }
    print(f"{args.kb} KB in 4-character deltas, best of {args.runs} runs (process CPU)")
    print(f"{'shape':24} {'deltas':>7} {'identity ms':>12} {'split ms':>9} {'ratio':>6}  text/reasoning chars")
    for name, events in shapes.items():
        opened = name.startswith("opened")
        base, _, _ = best(identity, events, args.runs)
        cost, text, reasoning = best(lambda it, opened=opened: split(it, opened=opened), events, args.runs)
        print(f"{name:24} {len(events) - 2:7d} {base * 1000:12.2f} {cost * 1000:9.2f} {cost / base:6.2f}  "
              f"{text}/{reasoning}")


if __name__ == "__main__":
    main()
