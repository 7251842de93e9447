"""Building plugins from source tarballs: zips, the cache, refusals and missing-plugin reasons.

A stand-in `mvn` on PATH writes the jars a build would, so these tests are quick; the real
Maven build runs when the session's node is assembled, and the node tests use its plugins.
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from okta_pipeline.lib.local_opensearch.assembly import (
    NODE_PLUGINS,
    Assembly,
    assembly_recipe,
    reassembly_reason,
)
from okta_pipeline.lib.local_opensearch.maven_build.plugins import (
    PluginBuildError,
    SourceBuild,
    build_from_source,
    sha256_of,
)
from okta_pipeline.lib.local_opensearch.maven_build.project import maven_tree
from okta_pipeline.lib.local_opensearch.maven_build.recipes import (
    SOURCE_RECIPES,
    SourceRecipe,
    recipe_for,
)

VERSION = "2.19.4"
PLUGIN_VERSION = "2.19.4.0"
ALERTING = SOURCE_RECIPES[0]
NOTIFICATIONS = SOURCE_RECIPES[1]
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
FAKE_MVN = """#!{python}
import json, os, sys
from pathlib import Path
with open(os.environ["FAKE_MVN_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
pom = Path(sys.argv[sys.argv.index("--file") + 1])
for relative, text in json.loads(os.environ["FAKE_MVN_OUTPUTS"]).items():
    path = pom.parent / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
print("[INFO] Building opensearch-alerting 2.19.4.0")
print(os.environ.get("FAKE_MVN_SAYS", ""))
sys.exit(int(os.environ.get("FAKE_MVN_EXIT", "0")))
"""


def make_tarball(path: Path, files: Mapping[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def alerting_sources(tmp_path: Path) -> Path:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    files = {f"{folder}/Placeholder.kt": "" for folder in ALERTING.required_paths}
    files[ALERTING.plugins[0].policy] = (
        'grant {\n  permission java.lang.RuntimePermission "x";\n};\n'
    )
    return make_tarball(sources / ALERTING.tarball_name(PLUGIN_VERSION), files)


@pytest.fixture
def node_home(tmp_path: Path) -> Path:
    """A node home whose lib/ and lang-painless module already ship two libraries."""
    home = tmp_path / "home"
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "reactor-core-3.7.5.jar").write_text("")
    (home / "modules" / "lang-painless").mkdir(parents=True)
    (home / "modules" / "lang-painless" / "antlr4-runtime-4.13.1.jar").write_text("")
    return home


@pytest.fixture
def fake_mvn(tmp_path: Path) -> dict[str, str]:
    """An environment whose `mvn` records its calls and writes FAKE_MVN_OUTPUTS."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mvn"
    script.write_text(FAKE_MVN.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_MVN_LOG": str(tmp_path / "mvn-calls.jsonl"),
        "FAKE_MVN_OUTPUTS": json.dumps(
            {
                "target/opensearch-alerting-2.19.4.0.jar": "plugin classes",
                "target/bundle/kotlin-stdlib-1.8.21.jar": "kotlin",
                "target/bundle/reactor-core-3.7.6.jar": "a second reactor",
                "target/bundle/antlr4-runtime-4.13.1.jar": "painless has it",
            }
        ),
    }


def build(
    tarball: Path,
    cache: Path,
    node_home: Path,
    environ: Mapping[str, str],
    recipe: SourceRecipe = ALERTING,
    mvn: str = "mvn",
) -> tuple[SourceBuild, list[str]]:
    messages: list[str] = []
    result = build_from_source(
        recipe,
        tarball,
        plugin_version=PLUGIN_VERSION,
        opensearch_version=VERSION,
        cache_dir=cache,
        maven_repository=cache / "maven",
        node_home=node_home,
        progress=messages.append,
        environ=environ,
        mvn=mvn,
    )
    return result, messages


def mvn_calls(environ: Mapping[str, str]) -> list[list[str]]:
    log = Path(environ["FAKE_MVN_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_a_source_build_zips_the_plugin_without_the_jars_the_node_ships(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    tarball = alerting_sources(tmp_path)
    result, messages = build(tarball, tmp_path / "cache", node_home, fake_mvn)
    assert result.reused is False and result.sha256 == sha256_of(tarball)
    with zipfile.ZipFile(result.zips["opensearch-alerting"]) as archive:
        names = sorted(archive.namelist())
        descriptor = archive.read("plugin-descriptor.properties").decode()
        policy = archive.read("plugin-security.policy").decode()
    assert names == [
        "kotlin-stdlib-1.8.21.jar",
        "opensearch-alerting-2.19.4.0.jar",
        "plugin-descriptor.properties",
        "plugin-security.policy",
    ]
    assert "extended.plugins=lang-painless" in descriptor.splitlines()
    assert "classname=org.opensearch.alerting.AlertingPlugin" in descriptor.splitlines()
    assert "opensearch.version=2.19.4" in descriptor.splitlines()
    assert 'RuntimePermission "x"' in policy, "the plugin's own policy, from its sources"
    assert any("not the tarball this build was verified with" in m for m in messages)
    (call,) = mvn_calls(fake_mvn)
    assert "package" in call and any(arg.startswith("-Dsrc.root=") for arg in call)
    assert any("maven: Building opensearch-alerting" in m for m in messages)


def test_a_second_build_of_the_same_tarball_reuses_the_zip_and_runs_no_maven(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    tarball = alerting_sources(tmp_path)
    first, _ = build(tarball, tmp_path / "cache", node_home, fake_mvn)
    again, _ = build(tarball, tmp_path / "cache", node_home, fake_mvn, mvn="mvn-must-not-run")
    assert again.reused is True
    assert again.zips == first.zips
    assert len(mvn_calls(fake_mvn)) == 1
    # Another tarball (other sources) is another cache entry: it is built.
    changed = make_tarball(
        tarball,
        {
            **{f"{folder}/Other.kt": "" for folder in ALERTING.required_paths},
            ALERTING.plugins[0].policy: "grant {};\n",
        },
    )
    rebuilt, _ = build(changed, tmp_path / "cache", node_home, fake_mvn)
    assert rebuilt.reused is False and len(mvn_calls(fake_mvn)) == 2


def test_an_extending_plugin_leaves_out_what_its_parent_bundles_and_ships_its_config(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    files = {f"{folder}/Placeholder.kt": "" for folder in NOTIFICATIONS.required_paths}
    for plugin in NOTIFICATIONS.plugins:
        files[plugin.policy] = "grant {};\n"
        files[f"{plugin.config}/{plugin.name}.yml"] = f"name: {plugin.name}\n"
    tarball = make_tarball(tmp_path / NOTIFICATIONS.tarball_name(PLUGIN_VERSION), files)
    fake_mvn["FAKE_MVN_OUTPUTS"] = json.dumps(
        {
            "core/target/opensearch-notifications-core-2.19.4.0.jar": "core",
            "core/target/bundle/kotlin-stdlib-1.8.21.jar": "kotlin",
            "notifications/target/opensearch-notifications-2.19.4.0.jar": "notifications",
            "notifications/target/bundle/kotlin-stdlib-1.8.21.jar": "kotlin again",
            "notifications/target/bundle/common-utils-2.19.4.0.jar": "utils",
        }
    )
    result, _ = build(tarball, tmp_path / "cache", node_home, fake_mvn, recipe=NOTIFICATIONS)
    with zipfile.ZipFile(result.zips["opensearch-notifications"]) as archive:
        names = set(archive.namelist())
        descriptor = archive.read("plugin-descriptor.properties").decode()
    assert "kotlin-stdlib-1.8.21.jar" not in names, "the core plugin's class loader has it"
    assert {"common-utils-2.19.4.0.jar", "config/opensearch-notifications.yml"} <= names
    assert "extended.plugins=opensearch-notifications-core" in descriptor.splitlines()
    with zipfile.ZipFile(result.zips["opensearch-notifications-core"]) as archive:
        assert "kotlin-stdlib-1.8.21.jar" in archive.namelist()


def test_a_tarball_without_the_expected_folders_is_refused_before_maven_runs(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    tarball = make_tarball(
        tmp_path / ALERTING.tarball_name(PLUGIN_VERSION), {"alerting-2.19.4.0/README.md": "x"}
    )
    with pytest.raises(PluginBuildError, match=r"lacks alerting/src/main/kotlin.*tag"):
        build(tarball, tmp_path / "cache", node_home, fake_mvn)
    assert mvn_calls(fake_mvn) == []
    assert not list((tmp_path / "cache" / "plugin-builds").glob("*/build.json"))


def test_a_tarball_that_escapes_its_folder_is_refused(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    tarball = make_tarball(tmp_path / ALERTING.tarball_name(PLUGIN_VERSION), {"../evil": "x"})
    with pytest.raises(PluginBuildError, match="cannot unpack"):
        build(tarball, tmp_path / "cache", node_home, fake_mvn)
    assert not (tmp_path / "cache" / "plugin-builds" / "evil").exists()


def test_a_failed_maven_build_says_why_and_caches_nothing(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    tarball = alerting_sources(tmp_path)
    failing = {**fake_mvn, "FAKE_MVN_EXIT": "1", "FAKE_MVN_SAYS": "[ERROR] unresolved reference"}
    with pytest.raises(PluginBuildError) as failure:
        build(tarball, tmp_path / "cache", node_home, failing)
    message = str(failure.value)
    assert "opensearch-alerting" in message and "exited with 1" in message
    assert "[ERROR] unresolved reference" in message and "Full log:" in message
    assert not list((tmp_path / "cache" / "plugin-builds").glob("*/build.json"))
    result, _ = build(tarball, tmp_path / "cache", node_home, fake_mvn)
    assert result.reused is False


def test_without_maven_the_build_says_what_to_install(
    tmp_path: Path, node_home: Path, fake_mvn: dict[str, str]
) -> None:
    with pytest.raises(PluginBuildError, match=r"Maven \(mvn\) is not installed.*apt-get"):
        build(alerting_sources(tmp_path), tmp_path / "cache", node_home, fake_mvn, mvn="no-mvn")


def test_every_recipe_builds_modules_that_the_maven_tree_defines() -> None:
    """A plugin's jar is named after its module's artifactId: the two must agree."""
    tree = maven_tree()
    for recipe in SOURCE_RECIPES:
        assert tree.joinpath(recipe.pom).is_file(), recipe.pom
        for plugin in recipe.plugins:
            pom_bytes = tree.joinpath(plugin.maven_module, "pom.xml").read_bytes()
            pom = ET.fromstring(pom_bytes)  # noqa: S314 - the project's own file
            assert pom.findtext("m:artifactId", namespaces=POM_NS) == plugin.name
            assert recipe_for(plugin.name) is recipe
    built = {p.name for r in SOURCE_RECIPES for p in r.plugins}
    assert built == {p.name for p in NODE_PLUGINS} - {"opensearch-job-scheduler"}


def test_the_node_is_reassembled_only_when_something_can_change(tmp_path: Path) -> None:
    tarball = alerting_sources(tmp_path)
    sources = tarball.parent
    current = assembly_recipe(VERSION)
    complete = Assembly(version=VERSION, recipe=current, plugins={"opensearch-alerting": "zip"})
    missing = Assembly(
        version=VERSION, recipe=current, unavailable_plugins={"opensearch-alerting": "why"}
    )
    assert reassembly_reason(None, VERSION, sources, False) == "first assembly"
    assert reassembly_reason(complete, VERSION, sources, False) is None
    stale = Assembly(version=VERSION, recipe="older", plugins=complete.plugins)
    assert "changed" in str(reassembly_reason(stale, VERSION, None, False))
    assert reassembly_reason(missing, VERSION, None, False) is None
    assert "--refresh" in str(reassembly_reason(missing, VERSION, None, True))
    assert tarball.name in str(reassembly_reason(missing, VERSION, sources, False))
    missing.sources_tried.append(sha256_of(tarball))
    assert reassembly_reason(missing, VERSION, sources, False) is None, "a failed build is kept"


def test_an_assembly_record_of_an_older_format_is_not_trusted(tmp_path: Path) -> None:
    record = tmp_path / "assembly.json"
    record.write_text(json.dumps({"version": VERSION, "modules": [], "plugins": ["alerting"]}))
    assert Assembly.load(record) is None
