"""A stand-in served from a process of its own, as a real destination is: the benchmark's
client then competes with it for neither the GIL nor a core."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from okta_pipeline.lib.standins.server import STORED_PATH


def _serve(factory: str, arguments: dict[str, Any], ready: Any) -> None:
    from okta_pipeline.lib.standins.cloudtrail_data import CloudTrailDataStandIn
    from okta_pipeline.lib.standins.openobserve import OpenObserveStandIn

    kinds: dict[str, Any] = {
        "cloudtrail_data": CloudTrailDataStandIn,
        "openobserve": OpenObserveStandIn,
    }
    server = kinds[factory](**arguments)
    ready.put(server.base_url)
    server.serve_forever()


@contextmanager
def standin_process(factory: str, **arguments: Any) -> Iterator[str]:
    """Start a stand-in (`cloudtrail_data` or `openobserve`) in a child process; its URL."""
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    process = context.Process(target=_serve, args=(factory, arguments, ready), daemon=True)
    process.start()
    try:
        yield str(ready.get(timeout=60))
    finally:
        process.terminate()
        process.join(timeout=10)


def stored(base_url: str) -> int:
    """How many distinct ids the stand-in stored."""
    return int(httpx.get(base_url + STORED_PATH, timeout=30).json()["distinct"])
