"""Random credentials for the demo's local services, handed to Dagster as `EnvVar`s.

Dagster stores literal resource values in the run's configuration and job snapshot; an `EnvVar`
is stored by name and read when the run starts. So the demo puts each generated secret into
this process's environment for as long as the demo runs, and removes it afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg


@contextmanager
def demo_secret(name: str, prefix: str = "") -> Iterator[tuple[str, dg.EnvVar]]:
    """A fresh random secret, set as environment variable `name` until the block ends: the
    value (for the local service that checks it) and the `EnvVar` (for the resource)."""
    value = prefix + secrets.token_urlsafe(24)
    with environment({name: value}):
        yield value, dg.EnvVar(name)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These environment variables set until the block ends, then as they were."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
