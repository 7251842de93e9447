"""Run one of the project's own Maven builds (the poms under `maven/`) in a work directory."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

Progress = Callable[[str], None]
# Maven's own progress lines worth relaying: which module it builds, and the Kotlin compile.
_MAVEN_STEP = re.compile(
    r"^\[INFO\] (Building (?!\w+: )\S+ \S+.*|--- kotlin-maven-plugin:\S+:compile .*)$"
)


class MavenBuildError(RuntimeError):
    """A Maven build could not run or failed; the message says why and where its log is."""


def maven_tree() -> Traversable:
    """The poms, shipped inside the package."""
    return resources.files("okta_pipeline.lib.local_opensearch.maven_build").joinpath("maven")


def maven_tree_digest(*folders: str) -> str:
    """A hash of the poms under `folders` (all when none), so a changed build is not reused."""
    digest = hashlib.sha256()
    for path, content in sorted(_poms(maven_tree(), "")):
        if not folders or path.split("/")[1] in folders:
            digest.update(path.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def copy_maven_tree(destination: Path) -> Path:
    """Write the poms under `destination` (Maven builds in place); return it."""
    for path, content in _poms(maven_tree(), ""):
        target = destination / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return destination


def run_maven(
    pom: Path,
    *,
    goals: list[str],
    repository: Path,
    properties: Mapping[str, str],
    java_home: Path,
    log: Path,
    progress: Progress,
    environ: Mapping[str, str],
    mvn: str = "mvn",
) -> None:
    """Run `mvn goals` on `pom` with its own local repository; raise MavenBuildError on failure."""
    executable = shutil.which(mvn, path=environ.get("PATH"))
    if executable is None:
        raise MavenBuildError(
            "Maven (mvn) is not installed: install it (e.g. `apt-get install maven`)."
        )
    command = [
        executable,
        "--batch-mode",
        "--no-transfer-progress",
        f"-Dmaven.repo.local={repository}",
        *(f"-D{name}={value}" for name, value in properties.items()),
        "--file",
        str(pom),
        *goals,
    ]
    with log.open("w") as sink:
        process = subprocess.Popen(
            command,
            cwd=pom.parent,
            env={**environ, "JAVA_HOME": str(java_home)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            sink.write(line)
            step = _MAVEN_STEP.match(line.rstrip())
            if step:
                progress(f"  maven: {step.group(1)}")
        code = process.wait()
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise MavenBuildError(f"mvn exited with {code}. Last lines:\n{tail}\nFull log: {log}")


def _poms(node: Traversable, prefix: str) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for child in node.iterdir():
        path = f"{prefix}/{child.name}"
        if child.is_dir():
            found.extend(_poms(child, path))
        elif child.name == "pom.xml":
            found.append((path, child.read_bytes()))
    return found
