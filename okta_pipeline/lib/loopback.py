"""Which hosts are this machine: the only ones credentials may be sent to over plain http."""

from __future__ import annotations

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str | None) -> bool:
    return host is not None and host.lower() in LOOPBACK_HOSTS
