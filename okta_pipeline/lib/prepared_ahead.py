"""Produce an iterator's next items on a worker thread while the caller uses the current one.

Parsing and validating events holds the GIL; waiting for a destination's answer does not, so
the two overlap. At most `depth` items wait, so memory stays bounded; an error raised while
producing is re-raised to the caller, and a caller that stops early stops the worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")


def prepared_ahead(items: Iterator[T], depth: int = 2, name: str = "prepare") -> Iterator[T]:
    ready: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(("item", item), timeout=0.2)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            ready.put(("done", None))
        except BaseException as error:  # handed to the consumer, which re-raises it
            ready.put(("error", error))

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "error":
                raise value
            if kind == "done":
                return
            yield value
    finally:
        stop.set()
        worker.join(timeout=10)
