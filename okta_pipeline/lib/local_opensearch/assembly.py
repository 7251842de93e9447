"""Assemble an OpenSearch home from Maven Central: core distribution, script modules, plugins."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from okta_pipeline.lib.local_opensearch.java import JavaRuntime
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.local_opensearch.maven import (
    Artifact,
    ArtifactUnavailableError,
    MavenCache,
    MavenError,
)
from okta_pipeline.lib.local_opensearch.modules import SCRIPT_MODULES, assemble_module

Progress = Callable[[str], None]

# Install order matters: each plugin's dependencies come before it.
PLUGIN_ARTIFACTS = (
    "opensearch-job-scheduler",
    "opensearch-notifications-core",
    "notifications",
    "opensearch-index-management",
    "alerting",
)
# What each plugin is for in this project, so a missing one is reported with its consequence.
PLUGIN_PURPOSE = {
    "opensearch-job-scheduler": "scheduling for Alerting monitors and ISM",
    "opensearch-notifications-core": "notification channels for monitor actions",
    "notifications": "notification channels for monitor actions",
    "opensearch-index-management": "ISM retention policies",
    "alerting": "detection monitors",
}


@dataclass
class Assembly:
    """What went into a node home; saved next to it so later runs need no network."""

    version: str
    modules: list[str] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)
    unavailable_plugins: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Assembly | None:
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))


class AssemblyError(RuntimeError):
    pass


def core_distribution(version: str) -> Artifact:
    return Artifact("org.opensearch.distribution.integ-test-zip", "opensearch", version, "zip")


def plugin_zip(name: str, version: str) -> Artifact:
    return Artifact("org.opensearch.plugin", name, f"{version}.0", "zip")


def assemble(
    layout: NodeLayout,
    java: JavaRuntime,
    progress: Progress,
    refresh_unavailable: bool = False,
) -> Assembly:
    """Build `layout.home` once; later calls reuse it (and its cached downloads) offline."""
    existing = Assembly.load(layout.assembly_record)
    if existing is not None and not (refresh_unavailable and existing.unavailable_plugins):
        return existing
    cache = MavenCache(layout.maven_repository)
    progress(f"Fetching OpenSearch {layout.version} from Maven Central (cached in {cache.root})")
    try:
        distribution = cache.fetch(core_distribution(layout.version))
    except MavenError as error:
        raise AssemblyError(str(error)) from error

    staging = layout.node_dir / "home.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _unpack_single_root(distribution, staging, layout.node_dir / "unpack.partial")
    assembly = Assembly(version=layout.version)
    for spec in SCRIPT_MODULES:
        progress(f"Assembling module {spec.name} from its Maven Central jars")
        try:
            assemble_module(cache, spec, layout.version, staging / "modules")
        except (MavenError, ValueError) as error:
            raise AssemblyError(f"cannot build module {spec.name}: {error}") from error
        assembly.modules.append(spec.name)

    for name in PLUGIN_ARTIFACTS:
        try:
            archive = cache.fetch(plugin_zip(name, layout.version))
        except ArtifactUnavailableError as error:
            assembly.unavailable_plugins[name] = error.detail
            continue
        except MavenError as error:
            raise AssemblyError(str(error)) from error
        progress(f"Installing plugin {name}")
        _install_plugin(staging, archive, java)
        assembly.plugins.append(name)

    assembly.save(staging / layout.assembly_record.name)
    shutil.rmtree(layout.home, ignore_errors=True)
    staging.rename(layout.home)
    return assembly


def _unpack_single_root(archive: Path, target: Path, scratch: Path) -> None:
    """Extract a zip whose entries share one top folder, so that folder becomes `target`."""
    shutil.rmtree(scratch, ignore_errors=True)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(scratch)
        for info in bundle.infolist():
            mode = info.external_attr >> 16
            if mode:
                (scratch / info.filename).chmod(mode & 0o777)
    (root,) = list(scratch.iterdir())
    root.rename(target)
    scratch.rmdir()


def _install_plugin(home: Path, archive: Path, java: JavaRuntime) -> None:
    environ = {
        **os.environ,
        "OPENSEARCH_JAVA_HOME": str(java.home),
        "OPENSEARCH_PATH_CONF": str(home / "config"),
    }
    environ.pop("OPENSEARCH_JAVA_OPTS", None)
    result = subprocess.run(
        [str(home / "bin" / "opensearch-plugin"), "install", "--batch", archive.as_uri()],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    if result.returncode != 0:
        raise AssemblyError(
            f"installing {archive.name} failed:\n{(result.stdout + result.stderr).strip()[-2000:]}"
        )
