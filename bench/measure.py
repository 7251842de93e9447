"""Small measuring tools shared by the scenarios: timers, child processes, tables."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Stopwatch:
    seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    watch = Stopwatch()
    started = time.perf_counter()
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - started


def timed(items: Iterable[T], watch: Stopwatch) -> Iterator[T]:
    """`items`, adding to `watch` the time spent producing each one (not the caller's time
    between them): how long a generator's own work takes inside a loop that does more."""
    iterator = iter(items)
    while True:
        started = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            watch.seconds += time.perf_counter() - started
            return
        watch.seconds += time.perf_counter() - started
        yield item


def run_child(module: str, arguments: Sequence[str]) -> tuple[dict[str, Any], float]:
    """Run `python -m module args`; return its JSON result and its own peak resident memory.

    One child per measurement, so the peak memory is the pipeline's alone (not the simulator's,
    nor an earlier scenario's). The child reports `peak_rss_mb` of itself as it exits.
    """
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result, float(result["peak_rss_mb"])


def peak_rss_mb() -> float:
    """This process's own peak resident memory, in MB.

    VmHWM belongs to the address space, which exec replaces; `ru_maxrss` would also carry the
    parent's size at fork time, so a small child of a large parent would look large.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in columns], *[[_format(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [title, "-" * len(title)]
    for number, row in enumerate(cells):
        lines.append(
            "  ".join(value.rjust(width) for value, width in zip(row, widths, strict=True))
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
