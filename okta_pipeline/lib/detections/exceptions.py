"""Exceptions: what an org knows to be benign for a detection (its egress networks, service
accounts, integrations), declared beside the detection in the catalog and added to or
overridden per deployment.

An exception names event fields and the values allowed for each. It matches a finding when,
for every field it names, the finding's value is allowed: an entity field is read from the
finding's entity, any other field from every Okta event the finding cites (a field that holds
a list, such as `target.displayName`, is allowed when any of its values is). Values compare
without regard to case; `*` and `?` are wildcards; a value that parses as a network (`10.0.0.0/8`)
matches the IP addresses in it, any other value (`/api/v1/logs`) is compared as text.

A matching exception never hides a finding: the finding is stored `suppressed`, naming the
exception and why, and is not alerted. An `audit` exception only names itself on the finding
(which alerts as usual): a way to try an exception before it suppresses anything.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CATALOG = "catalog"
DEPLOYMENT = "deployment"


class ExceptionError(ValueError):
    """An exception is malformed; the message names the detection, the exception and the fix."""


@dataclass(frozen=True)
class DetectionException:
    name: str
    reason: str
    match: Mapping[str, tuple[str, ...]]
    origin: str = CATALOG
    """Where it was declared: the catalog, or the deployment's DetectionsResource."""
    audit: bool = False
    """Name the exception on matching findings without suppressing them."""

    @classmethod
    def parse(cls, value: Any, where: str, origin: str = CATALOG) -> DetectionException:
        """One exception from the catalog's (or a deployment's) mapping, checked."""
        if not isinstance(value, Mapping):
            raise ExceptionError(f"{where}: an exception is a mapping with name, reason, match")
        name, reason, match = value.get("name"), value.get("reason"), value.get("match")
        if not isinstance(name, str) or not name.strip():
            raise ExceptionError(f"{where}: each exception needs a name")
        if not isinstance(reason, str) or not reason.strip():
            raise ExceptionError(f"{where}: exception {name!r} needs a reason (why it is benign)")
        if not isinstance(match, Mapping) or not match:
            raise ExceptionError(
                f"{where}: exception {name!r} needs match: {{field: [allowed values]}}"
            )
        allowed: dict[str, tuple[str, ...]] = {}
        for field, values in match.items():
            listed = values if isinstance(values, list | tuple) else [values]
            if not listed or not all(isinstance(v, str | int) and str(v) for v in listed):
                raise ExceptionError(
                    f"{where}: exception {name!r} allows no values for {field!r}; "
                    "give a list of strings"
                )
            allowed[str(field)] = tuple(str(v) for v in listed)
        return cls(name.strip(), reason.strip(), allowed, origin, bool(value.get("audit", False)))

    def event_fields(self, entity_fields: Iterable[str]) -> tuple[str, ...]:
        """The fields read from the finding's events (those that are not entity fields)."""
        entity = set(entity_fields)
        return tuple(f for f in self.match if f not in entity)

    def matches(self, entity: Mapping[str, str], events: Sequence[Mapping[str, Any]]) -> bool:
        """Whether the finding with this entity and these cited events' values is excepted."""
        for field, allowed in self.match.items():
            if field in entity:
                # An entity of several targets is their values, comma-separated.
                if not _allowed(entity[field].split(","), allowed):
                    return False
            elif not events or not all(_allowed(e.get(field), allowed) for e in events):
                return False
        return True

    def describe(self) -> dict[str, Any]:
        """What a finding's metadata says of the exception that matched it."""
        return {
            "name": self.name,
            "reason": self.reason,
            "origin": self.origin,
            "audit": self.audit,
            "match": {field: list(values) for field, values in self.match.items()},
        }


def merged(
    catalog: Sequence[DetectionException], deployment: Sequence[DetectionException]
) -> tuple[DetectionException, ...]:
    """The catalog's exceptions with the deployment's: one of the same name replaces it."""
    by_name = {e.name: e for e in catalog}
    by_name.update({e.name: e for e in deployment})
    return tuple(by_name.values())


def first_match(
    exceptions: Sequence[DetectionException],
    entity: Mapping[str, str],
    events: Sequence[Mapping[str, Any]],
) -> DetectionException | None:
    """The first exception that matches; enforcing ones are tried before audit ones."""
    for exception in sorted(exceptions, key=lambda e: e.audit):
        if exception.matches(entity, events):
            return exception
    return None


def _allowed(value: Any, allowed: Sequence[str]) -> bool:
    if isinstance(value, list):
        return any(_allowed(v, allowed) for v in value)
    if value is None or value == "":
        return False
    text = str(value).lower()
    for pattern in allowed:
        network = _network(pattern)
        if network is not None:
            if _in_network(text, network):
                return True
        elif fnmatch.fnmatchcase(text, pattern.lower()):
            return True
    return False


def _network(pattern: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if "/" not in pattern:
        return None
    try:
        return ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return None


def _in_network(value: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(value) in network
    except ValueError:
        return False
