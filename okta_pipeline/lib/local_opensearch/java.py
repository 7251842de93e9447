"""Find a Java runtime that OpenSearch 2.x can run on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# OpenSearch 2.x relies on the Security Manager, which Java 24 removed; 11 is the oldest it accepts.
SUPPORTED_MAJORS = range(11, 24)
PREFERRED_MAJORS = (21, 17)
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


class JavaNotFoundError(RuntimeError):
    pass


@dataclass(frozen=True)
class JavaRuntime:
    home: Path
    major: int


def parse_major(version_output: str) -> int | None:
    """The major version from `java -version` output ("1.8.0_x" is 8, "17.0.15" is 17)."""
    match = _VERSION.search(version_output)
    if match is None:
        return None
    first = int(match.group(1))
    return int(match.group(2) or 0) if first == 1 else first


def probe(home: Path) -> JavaRuntime | None:
    """The runtime installed at `home`, or None when there is none."""
    java = home / "bin" / "java"
    if not os.access(java, os.X_OK):
        return None
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    major = parse_major(result.stderr + result.stdout)
    return JavaRuntime(home.resolve(), major) if major is not None else None


def candidate_homes(environ: Mapping[str, str]) -> Iterable[Path]:
    """Java homes in the order a user expects them to be honoured."""
    for variable in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
        if environ.get(variable):
            yield Path(environ[variable])
    on_path = shutil.which("java", path=environ.get("PATH"))
    if on_path:
        yield Path(on_path).resolve().parent.parent
    for root in (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java")):
        if root.is_dir():
            yield from sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())


def find_java(environ: Mapping[str, str]) -> JavaRuntime:
    """The first supported runtime, preferring an explicit OPENSEARCH_JAVA_HOME or JAVA_HOME."""
    seen: dict[Path, JavaRuntime] = {}
    rejected: list[str] = []
    for home in candidate_homes(environ):
        runtime = probe(home)
        if runtime is None or runtime.home in seen:
            continue
        seen[runtime.home] = runtime
        explicit = home in {Path(environ.get(v, "")) for v in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME")}
        if runtime.major in SUPPORTED_MAJORS and explicit:
            return runtime
        if runtime.major not in SUPPORTED_MAJORS:
            rejected.append(f"{runtime.home} (Java {runtime.major})")
    for major in PREFERRED_MAJORS:
        for runtime in seen.values():
            if runtime.major == major:
                return runtime
    for runtime in seen.values():
        if runtime.major in SUPPORTED_MAJORS:
            return runtime
    found = "; found only " + ", ".join(rejected) if rejected else ""
    raise JavaNotFoundError(
        "OpenSearch 2.x needs Java 17 or 21 (it cannot run on Java 24+)"
        f"{found}. Install one (e.g. `apt-get install openjdk-17-jre-headless`) "
        "or set OPENSEARCH_JAVA_HOME to its home directory."
    )


# The Kotlin 1.8 compiler the plugin builds use is known to run on these JDKs.
BUILD_MAJORS = (17, 21, 11)


def find_jdk(environ: Mapping[str, str]) -> JavaRuntime:
    """A JDK (with javac) that can build OpenSearch 2.x plugins from source."""
    found: dict[int, JavaRuntime] = {}
    for home in candidate_homes(environ):
        runtime = probe(home)
        if runtime is None or not os.access(runtime.home / "bin" / "javac", os.X_OK):
            continue
        found.setdefault(runtime.major, runtime)
    for major in BUILD_MAJORS:
        if major in found:
            return found[major]
    seen = ", ".join(f"Java {major}" for major in sorted(found)) or "none"
    raise JavaNotFoundError(
        f"building OpenSearch plugins from source needs a JDK 17 or 21 with javac (found: {seen}). "
        "Install one (e.g. `apt-get install openjdk-17-jdk-headless`) or set JAVA_HOME to it."
    )
