"""Fetch artifacts from Maven Central with the ordinary `mvn` client into a local cache."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NOT_FOUND = re.compile(r"Could not find artifact \S+ in \S+ \([^)]*\)")
_TRANSFER = re.compile(r"Could not transfer artifact [^\n]*?(?= -> \[Help|$)", re.M)


class MavenError(RuntimeError):
    """mvn is missing or could not supply an artifact."""


class ArtifactUnavailableError(MavenError):
    """The configured Maven repositories do not hold this artifact."""

    def __init__(self, artifact: Artifact, detail: str) -> None:
        self.artifact = artifact
        self.detail = detail
        super().__init__(f"Maven could not supply {artifact.coordinate}: {detail}")


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str
    packaging: str = "jar"

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.name}:{self.version}:{self.packaging}"

    def relative_path(self) -> Path:
        """Where Maven's repository layout keeps this artifact."""
        return (
            Path(*self.group.split("."))
            / self.name
            / self.version
            / f"{self.name}-{self.version}.{self.packaging}"
        )

    def with_packaging(self, packaging: str) -> Artifact:
        return Artifact(self.group, self.name, self.version, packaging)


class MavenCache:
    """A Maven local repository owned by this project; cached files are never re-fetched."""

    def __init__(self, root: Path, mvn: str = "mvn") -> None:
        self.root = root
        self._mvn = mvn

    def path_of(self, artifact: Artifact) -> Path:
        return self.root / artifact.relative_path()

    def fetch(self, artifact: Artifact) -> Path:
        """Return the artifact's local file, downloading it through mvn when it is not cached."""
        target = self.path_of(artifact)
        if target.is_file():
            return target
        executable = shutil.which(self._mvn)
        if executable is None:
            raise MavenError(
                f"{artifact.coordinate} is not cached and Maven is not installed: install Maven "
                "(e.g. `apt-get install maven`) or point OPENSEARCH_URL at an existing cluster."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            executable,
            "--batch-mode",
            "--quiet",
            "--update-snapshots",  # also retries artifacts whose earlier miss Maven cached
            f"-Dmaven.repo.local={self.root}",
            f"{DEPENDENCY_PLUGIN}:get",
            f"-Dartifact={artifact.coordinate}",
            "-Dtransitive=false",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not target.is_file():
            raise ArtifactUnavailableError(
                artifact, _summarize_mvn_failure(result.stdout + result.stderr)
            )
        return target


def _summarize_mvn_failure(output: str) -> str:
    """The one line of mvn's output that says why, without colours or its boilerplate."""
    text = _ANSI.sub("", output)
    for pattern in (_NOT_FOUND, _TRANSFER):
        match = pattern.search(text)
        if match:
            return match.group(0).rstrip(" .")
    errors = [
        line.removeprefix("[ERROR]").strip() for line in text.splitlines() if "[ERROR]" in line
    ]
    return next((e for e in errors if e), text.strip()[-500:] or "mvn failed without output")
