"""Which libraries a node already ships: a second copy in a plugin is refused at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# "kotlin-stdlib-common-1.8.21.jar" -> "kotlin-stdlib-common"; the version starts at the first
# "-<digit>" ("t-digest-3.3.jar" -> "t-digest", "guava-33.2.1-jre.jar" -> "guava").
_VERSIONED = re.compile(r"(?P<name>.+?)-\d[^/]*\.jar")


def artifact_name(jar: str | Path) -> str:
    """The artifact a jar file holds, whatever its version."""
    filename = Path(jar).name
    match = _VERSIONED.fullmatch(filename)
    return match["name"] if match else filename.removesuffix(".jar")


def artifact_names(directories: Iterable[Path]) -> frozenset[str]:
    """The artifacts whose jars sit directly in any of `directories` (missing ones are empty)."""
    return frozenset(
        artifact_name(jar)
        for directory in directories
        if directory.is_dir()
        for jar in directory.glob("*.jar")
    )
