"""Assemble an OpenSearch home: the core distribution, rebuilt modules, and the plugins.

Everything comes through the ordinary `mvn` client. Plugins come as Maven zips where the
configured repositories serve them, and are otherwise built from source tarballs found in a
directory the user names (`maven_build`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from okta_pipeline.lib.local_opensearch.jars import artifact_names
from okta_pipeline.lib.local_opensearch.java import JavaRuntime
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.local_opensearch.maven import (
    Artifact,
    ArtifactUnavailableError,
    MavenCache,
    MavenError,
)
from okta_pipeline.lib.local_opensearch.maven_build.plugins import (
    PluginBuildError,
    SourceBuild,
    build_from_source,
    find_tarball,
    sha256_of,
)
from okta_pipeline.lib.local_opensearch.maven_build.project import (
    MavenBuildError,
    maven_tree_digest,
)
from okta_pipeline.lib.local_opensearch.maven_build.recipes import recipe_for
from okta_pipeline.lib.local_opensearch.modules import NODE_MODULES, assemble_modules

Progress = Callable[[str], None]
SOURCES_VARIABLE = "OKTA_PIPELINE_PLUGIN_SOURCES"


@dataclass(frozen=True)
class PluginSpec:
    name: str
    """The plugin's name as the node reports it."""
    maven_artifact: str
    """Its zip's artifactId in group org.opensearch.plugin."""
    purpose: str
    requires: tuple[str, ...] = ()
    """Plugins it extends, installed before it."""


# In install order: each plugin comes after the plugins it extends.
NODE_PLUGINS = (
    PluginSpec("opensearch-job-scheduler", "opensearch-job-scheduler", "scheduling for ISM"),
    PluginSpec(
        "opensearch-notifications-core",
        "opensearch-notifications-core",
        "delivery of monitor actions (webhook, Slack, Chime, SNS)",
    ),
    PluginSpec(
        "opensearch-notifications",
        "notifications",
        "notification channels for monitor actions",
        requires=("opensearch-notifications-core",),
    ),
    PluginSpec(
        "opensearch-index-management",
        "opensearch-index-management",
        "ISM retention policies",
        requires=("opensearch-job-scheduler",),
    ),
    PluginSpec("opensearch-alerting", "alerting", "detection monitors (Alerting)"),
)
PLUGIN_PURPOSE = {spec.name: spec.purpose for spec in NODE_PLUGINS}


@dataclass
class Assembly:
    """What went into a node home; saved next to it so later runs need no network."""

    version: str
    recipe: str = ""
    """A fingerprint of what a node is assembled from; when it changes, the node is rebuilt."""
    modules: list[str] = field(default_factory=list)
    plugins: dict[str, str] = field(default_factory=dict)
    """Installed plugins, each with where it came from."""
    unavailable_plugins: dict[str, str] = field(default_factory=dict)
    """Plugins that could not be had, each with why and how to supply it."""
    sources_tried: list[str] = field(default_factory=list)
    """sha256 of every source tarball built (or tried), so a failed build is not retried."""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Assembly | None:
        """The saved record, or None when there is none or it predates this format."""
        if not path.is_file():
            return None
        try:
            record = cls(**json.loads(path.read_text()))
        except (TypeError, ValueError):
            return None
        return record if isinstance(record.plugins, dict) else None


class AssemblyError(RuntimeError):
    pass


def core_distribution(version: str) -> Artifact:
    return Artifact("org.opensearch.distribution.integ-test-zip", "opensearch", version, "zip")


def plugin_zip(spec: PluginSpec, version: str) -> Artifact:
    return Artifact("org.opensearch.plugin", spec.maven_artifact, f"{version}.0", "zip")


def assembly_recipe(version: str) -> str:
    """What a node of `version` is made of: its modules, its plugins and the plugin build."""
    parts = [
        version,
        *(f"module:{m.name}:{m.jar_name}:{m.permissions}" for m in NODE_MODULES),
        *(f"plugin:{p.name}:{p.maven_artifact}:{p.requires}" for p in NODE_PLUGINS),
        f"maven-build:{maven_tree_digest()}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def plugin_sources_dir(environ: Mapping[str, str], progress: Progress) -> Path | None:
    """The directory named by OKTA_PIPELINE_PLUGIN_SOURCES, when it names one."""
    value = environ.get(SOURCES_VARIABLE, "").strip()
    if not value:
        return None
    directory = Path(value).expanduser()
    if not directory.is_dir():
        progress(f"WARNING: {SOURCES_VARIABLE}={value} is not a directory; it is ignored.")
        return None
    return directory.resolve()


def reassembly_reason(
    existing: Assembly | None, version: str, sources_dir: Path | None, refresh: bool
) -> str | None:
    """Why the node home must be (re)built, or None when the saved one will do."""
    if existing is None:
        return "first assembly"
    if existing.recipe != assembly_recipe(version):
        return "the node's modules, plugins or plugin build changed"
    if not existing.unavailable_plugins:
        return None
    if refresh:
        return "--refresh asks to retry the missing plugins"
    for name in existing.unavailable_plugins:
        recipe = recipe_for(name)
        tarball = find_tarball(sources_dir, recipe, f"{version}.0") if recipe else None
        if tarball is not None and sha256_of(tarball) not in existing.sources_tried:
            return f"{tarball.name} can now supply {name}"
    return None


def assemble(
    layout: NodeLayout,
    java: JavaRuntime,
    progress: Progress,
    *,
    refresh: bool = False,
    sources_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    mvn: str = "mvn",
) -> Assembly:
    """Build `layout.home` once; later calls reuse it (and its cached downloads) offline."""
    existing = Assembly.load(layout.assembly_record)
    reason = reassembly_reason(existing, layout.version, sources_dir, refresh)
    if reason is None and existing is not None:
        return existing
    if existing is not None:
        progress(f"Re-assembling the local node: {reason}")
    cache = MavenCache(layout.maven_repository, mvn=mvn)
    progress(f"Fetching OpenSearch {layout.version} from Maven Central (cached in {cache.root})")
    try:
        distribution = cache.fetch(core_distribution(layout.version))
    except MavenError as error:
        raise AssemblyError(str(error)) from error

    staging = layout.node_dir / "home.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _unpack_single_root(distribution, staging, layout.node_dir / "unpack.partial")
    assembly = Assembly(version=layout.version, recipe=assembly_recipe(layout.version))
    environ = os.environ if environ is None else environ
    names = ", ".join(m.name for m in NODE_MODULES)
    progress(f"Assembling modules {names} from their Maven Central jars")
    try:
        assembly.modules = assemble_modules(
            staging / "modules",
            layout.version,
            artifact_names([staging / "lib"]),
            work=layout.node_dir / "modules.partial",
            repository=cache.root,
            java_home=java.home,
            progress=progress,
            environ=environ,
            mvn=mvn,
        )
    except (MavenBuildError, ValueError) as error:
        raise AssemblyError(f"cannot assemble the modules {names}: {error}") from error

    supplier = _PluginSupplier(
        layout, cache, staging, sources_dir, progress, environ, mvn, assembly
    )
    for spec in NODE_PLUGINS:
        archive, origin = supplier.zip_for(spec)
        if archive is None:
            assembly.unavailable_plugins[spec.name] = origin
            continue
        progress(f"Installing plugin {spec.name} ({origin})")
        _install_plugin(staging, archive, java)
        assembly.plugins[spec.name] = origin

    assembly.save(staging / layout.assembly_record.name)
    shutil.rmtree(layout.home, ignore_errors=True)
    staging.rename(layout.home)
    return assembly


@dataclass
class _PluginSupplier:
    """Finds each plugin's zip: Maven first, then a build from source."""

    layout: NodeLayout
    cache: MavenCache
    home: Path
    sources_dir: Path | None
    progress: Progress
    environ: Mapping[str, str]
    mvn: str
    assembly: Assembly
    builds: dict[str, SourceBuild | PluginBuildError] = field(default_factory=dict)

    def zip_for(self, spec: PluginSpec) -> tuple[Path | None, str]:
        """The plugin's zip and where it came from, or None and why it is missing."""
        missing = [r for r in spec.requires if r not in self.assembly.plugins]
        if missing:
            return None, f"it extends {', '.join(missing)}, which is missing"
        try:
            return self.cache.fetch(plugin_zip(spec, self.layout.version)), "Maven zip"
        except ArtifactUnavailableError as error:
            maven_reason = error.detail
        except MavenError as error:
            maven_reason = str(error)
        recipe = recipe_for(spec.name)
        plugin_version = f"{self.layout.version}.0"
        tarball = find_tarball(self.sources_dir, recipe, plugin_version) if recipe else None
        if recipe is None or tarball is None:
            return None, self._how_to_supply(spec, maven_reason)
        build = self.builds.get(recipe.project)
        if build is None:
            try:
                build = build_from_source(
                    recipe,
                    tarball,
                    plugin_version=plugin_version,
                    opensearch_version=self.layout.version,
                    cache_dir=self.layout.cache_dir,
                    maven_repository=self.cache.root,
                    node_home=self.home,
                    progress=self.progress,
                    environ=self.environ,
                    mvn=self.mvn,
                )
            except PluginBuildError as error:
                build = error
            self.builds[recipe.project] = build
            self.assembly.sources_tried.append(sha256_of(tarball))
        if isinstance(build, PluginBuildError):
            return None, f"Maven has no zip, and building it from {tarball.name} failed: {build}"
        how = "cached build" if build.reused else f"built in {build.seconds:.0f}s"
        origin = f"built from {tarball.name}, sha256 {build.sha256[:12]}, {how}"
        return build.zips[spec.name], origin

    def _how_to_supply(self, spec: PluginSpec, maven_reason: str) -> str:
        artifact = plugin_zip(spec, self.layout.version).coordinate
        recipe = recipe_for(spec.name)
        if recipe is None:
            return (
                f"Maven could not supply {artifact} ({maven_reason}). Use a Maven repository "
                "that serves it, then run `okta-pipeline opensearch up --refresh`."
            )
        where = (
            f"{SOURCES_VARIABLE} is {self.sources_dir}, which does not hold it"
            if self.sources_dir
            else f"{SOURCES_VARIABLE} is not set"
        )
        return (
            f"Maven could not supply {artifact} ({maven_reason}), and no source tarball was "
            f"found ({where}). Put {recipe.tarball_name(f'{self.layout.version}.0')} (the "
            f"src/main trees of {recipe.upstream} at tag {self.layout.version}.0) in a directory, "
            f"set {SOURCES_VARIABLE} to it and run `okta-pipeline opensearch up --refresh`; "
            "or use a Maven repository that serves the zip."
        )


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
