"""Build OpenSearch plugin zips from source tarballs with Maven, cached by their checksums."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tarfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from okta_pipeline.lib.local_opensearch.descriptors import plugin_descriptor
from okta_pipeline.lib.local_opensearch.jars import artifact_name, artifact_names
from okta_pipeline.lib.local_opensearch.java import JavaNotFoundError, find_jdk
from okta_pipeline.lib.local_opensearch.maven_build.project import (
    MavenBuildError,
    Progress,
    copy_maven_tree,
    maven_tree_digest,
    run_maven,
)
from okta_pipeline.lib.local_opensearch.maven_build.recipes import BuiltPlugin, SourceRecipe


class PluginBuildError(RuntimeError):
    """A plugin could not be built from its sources; the message says why and what to do."""


@dataclass(frozen=True)
class SourceBuild:
    """The plugin zips built from one source tarball."""

    recipe: SourceRecipe
    tarball: Path
    sha256: str
    zips: dict[str, Path]
    seconds: float
    """How long the Maven build took when it ran."""
    reused: bool
    """True when the zips came from the cache and no build ran."""


def find_tarball(
    sources_dir: Path | None, recipe: SourceRecipe, plugin_version: str
) -> Path | None:
    """The recipe's tarball in `sources_dir`, if the directory holds it."""
    if sources_dir is None:
        return None
    candidate = sources_dir / recipe.tarball_name(plugin_version)
    return candidate if candidate.is_file() else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_from_source(
    recipe: SourceRecipe,
    tarball: Path,
    *,
    plugin_version: str,
    opensearch_version: str,
    cache_dir: Path,
    maven_repository: Path,
    node_home: Path,
    progress: Progress,
    environ: Mapping[str, str] | None = None,
    mvn: str = "mvn",
) -> SourceBuild:
    """The recipe's plugin zips: from the cache when this tarball was built before, else built.

    `node_home` is the node the zips are for: jars its lib/ (or an extended plugin) already
    ships are left out of the zips, since a second copy is refused at start-up.
    """
    environ = os.environ if environ is None else environ
    sha256 = sha256_of(tarball)
    build_digest = maven_tree_digest("parent", recipe.pom.split("/")[0])
    key = hashlib.sha256(f"{sha256}:{build_digest}".encode()).hexdigest()[:16]
    builds = cache_dir / "plugin-builds"
    target = builds / f"{recipe.project}-{plugin_version}-{key}"
    builds.mkdir(parents=True, exist_ok=True)
    with _locked(builds / f"{recipe.project}.lock"):
        cached = _cached_build(recipe, tarball, sha256, target, plugin_version)
        if cached is not None:
            return cached
        if sha256 != recipe.verified_sha256:
            progress(
                f"WARNING: {tarball.name} (sha256 {sha256[:12]}...) is not the tarball this build "
                f"was verified with ({recipe.verified_sha256[:12]}...); building it anyway."
            )
        progress(
            f"Building {', '.join(p.name for p in recipe.plugins)} {plugin_version} from "
            f"{tarball.name} with Maven (a few minutes the first time; cached afterwards)"
        )
        work = target.with_name(target.name + ".partial")
        shutil.rmtree(work, ignore_errors=True)
        started = time.monotonic()
        _unpack(tarball, work / "src", recipe)
        copy_maven_tree(work / "maven")
        try:
            jdk = find_jdk(environ)
        except JavaNotFoundError as error:
            raise PluginBuildError(str(error)) from error
        try:
            run_maven(
                work / "maven" / recipe.pom,
                goals=["package"],
                repository=maven_repository,
                properties={"src.root": str(work / "src")},
                java_home=jdk.home,
                log=work / "maven.log",
                progress=progress,
                environ=environ,
                mvn=mvn,
            )
        except MavenBuildError as error:
            raise PluginBuildError(
                f"the Maven build of {recipe.project} with Java {jdk.major} failed: {error}"
            ) from error
        seconds = round(time.monotonic() - started, 1)
        dist = work / "dist"
        dist.mkdir()
        bundles: dict[str, frozenset[str]] = {}
        for plugin in recipe.plugins:
            zip_path, bundled = _zip_plugin(
                plugin, work, dist, plugin_version, opensearch_version, node_home, bundles
            )
            bundles[plugin.name] = bundled
            progress(f"Built {zip_path.name} ({zip_path.stat().st_size / 1e6:.1f} MB)")
        zip_names = {p.name: f"{p.name}-{plugin_version}.zip" for p in recipe.plugins}
        record = {
            "project": recipe.project,
            "tarball": tarball.name,
            "sha256": sha256,
            "maven_build": build_digest,
            "seconds": seconds,
            "plugins": zip_names,
        }
        (dist / "build.json").write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        dist.rename(target)
        shutil.rmtree(work, ignore_errors=True)  # sources and classes: hundreds of MB
        progress(f"Built {recipe.project} from source in {seconds:.0f}s")
        return SourceBuild(
            recipe=recipe,
            tarball=tarball,
            sha256=sha256,
            zips={name: target / filename for name, filename in zip_names.items()},
            seconds=seconds,
            reused=False,
        )


def _cached_build(
    recipe: SourceRecipe, tarball: Path, sha256: str, target: Path, plugin_version: str
) -> SourceBuild | None:
    record_path = target / "build.json"
    if not record_path.is_file():
        return None
    record = json.loads(record_path.read_text())
    zips = {p.name: target / f"{p.name}-{plugin_version}.zip" for p in recipe.plugins}
    if record.get("sha256") != sha256 or not all(z.is_file() for z in zips.values()):
        return None
    return SourceBuild(
        recipe=recipe,
        tarball=tarball,
        sha256=sha256,
        zips=zips,
        seconds=float(record.get("seconds", 0.0)),
        reused=True,
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build per project at a time, across processes (a demo and a test run, say)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _unpack(tarball: Path, destination: Path, recipe: SourceRecipe) -> None:
    destination.mkdir(parents=True)
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            # The "data" filter refuses absolute paths, links out of the tree and device files.
            archive.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise PluginBuildError(
            f"cannot unpack {tarball}: {error}. Replace it with a gzipped tar of the "
            f"{recipe.upstream} sources."
        ) from error
    missing = [p for p in recipe.required_paths if not (destination / p).is_dir()]
    if missing:
        raise PluginBuildError(
            f"{tarball.name} lacks {', '.join(missing)}: it must hold {recipe.upstream} at the "
            f"release tag, with these folders at its top level: {', '.join(recipe.required_paths)}."
        )


def _zip_plugin(
    plugin: BuiltPlugin,
    work: Path,
    dist: Path,
    plugin_version: str,
    opensearch_version: str,
    node_home: Path,
    sibling_bundles: Mapping[str, frozenset[str]],
) -> tuple[Path, frozenset[str]]:
    """Zip one plugin; return the zip and the artifacts it bundles."""
    target_dir = work / "maven" / plugin.maven_module / "target"
    jar = target_dir / f"{plugin.name}-{plugin_version}.jar"
    if not jar.is_file():
        raise PluginBuildError(f"the Maven build did not produce {jar.name}; see {work}")
    shipped = artifact_names(
        [node_home / "lib"]
        + [node_home / "modules" / e for e in plugin.extended_plugins]
        + [node_home / "plugins" / e for e in plugin.extended_plugins]
    ).union(*(sibling_bundles.get(e, frozenset()) for e in plugin.extended_plugins))
    bundled = sorted(
        j for j in (target_dir / "bundle").glob("*.jar") if artifact_name(j) not in shipped
    )
    entries: dict[str, bytes] = {jar.name: jar.read_bytes()}
    entries.update({j.name: j.read_bytes() for j in bundled})
    entries["plugin-security.policy"] = (work / "src" / plugin.policy).read_bytes()
    entries["plugin-descriptor.properties"] = plugin_descriptor(
        name=plugin.name,
        description=plugin.description,
        version=plugin_version,
        opensearch_version=opensearch_version,
        classname=plugin.classname,
        extended_plugins=plugin.extended_plugins,
    ).encode()
    if plugin.config is not None:
        config = work / "src" / plugin.config
        for path in sorted(p for p in config.rglob("*") if p.is_file()):
            entries[f"config/{path.relative_to(config).as_posix()}"] = path.read_bytes()
    zip_path = dist / f"{plugin.name}-{plugin_version}.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            # Fixed timestamps and modes: the same sources give the same zip.
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED)
    return zip_path, frozenset(artifact_name(j) for j in [jar, *bundled])
