from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from okta_pipeline.lib.local_opensearch.descriptors import plugin_descriptor, security_policy
from okta_pipeline.lib.local_opensearch.jars import artifact_name
from okta_pipeline.lib.local_opensearch.modules import NODE_MODULES, module_jars, plugin_classname


def make_jar(path: Path, *entries: str) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        for entry in entries:
            jar.writestr(entry, b"")
    return path


def test_plugin_classname_is_read_from_the_jar(tmp_path: Path) -> None:
    jar = make_jar(
        tmp_path / "m.jar",
        "org/opensearch/painless/PainlessPlugin.class",
        "org/opensearch/painless/PainlessPlugin$Inner.class",
        "org/opensearch/painless/Compiler.class",
    )
    assert plugin_classname(jar) == "org.opensearch.painless.PainlessPlugin"


def test_plugin_classname_refuses_ambiguity(tmp_path: Path) -> None:
    jar = make_jar(tmp_path / "m.jar", "a/OnePlugin.class", "b/TwoPlugin.class")
    with pytest.raises(ValueError, match="expected one"):
        plugin_classname(jar)


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_module_descriptor_declares_the_node_version_and_no_extended_plugins() -> None:
    described = properties(
        plugin_descriptor(
            name="lang-painless",
            description="Painless",
            version="2.19.4",
            opensearch_version="2.19.4",
            classname="org.opensearch.painless.PainlessPlugin",
        )
    )
    assert described["name"] == "lang-painless"
    assert described["version"] == described["opensearch.version"] == "2.19.4"
    assert described["classname"] == "org.opensearch.painless.PainlessPlugin"
    assert described["extended.plugins"] == ""


def test_plugin_descriptor_lists_the_plugins_it_extends() -> None:
    described = properties(
        plugin_descriptor(
            name="opensearch-notifications",
            description="Notifications",
            version="2.19.4.0",
            opensearch_version="2.19.4",
            classname="org.opensearch.notifications.NotificationPlugin",
            extended_plugins=("opensearch-notifications-core", "lang-painless"),
        )
    )
    assert described["extended.plugins"] == "opensearch-notifications-core,lang-painless"
    assert described["version"] == "2.19.4.0" and described["opensearch.version"] == "2.19.4"


@pytest.mark.parametrize(
    ("jar", "name"),
    [
        ("kotlin-stdlib-common-1.8.21.jar", "kotlin-stdlib-common"),
        ("t-digest-3.3.jar", "t-digest"),
        ("guava-33.2.1-jre.jar", "guava"),
        ("netty-codec-4.1.125.Final.jar", "netty-codec"),
        ("opensearch-2.19.4.jar", "opensearch"),
        ("unversioned.jar", "unversioned"),
    ],
)
def test_artifact_name_ignores_the_version(jar: str, name: str) -> None:
    assert artifact_name(jar) == name


def test_module_jars_leave_out_what_the_node_lib_ships(tmp_path: Path) -> None:
    reindex = next(m for m in NODE_MODULES if m.name == "reindex")
    for jar in ("reindex-client-2.19.4.jar", "httpclient-4.5.14.jar", "opensearch-core-2.19.4.jar"):
        make_jar(tmp_path / jar)
    jars = module_jars(tmp_path, reindex, "2.19.4", frozenset({"opensearch-core"}))
    assert [j.name for j in jars] == ["reindex-client-2.19.4.jar", "httpclient-4.5.14.jar"]
    with pytest.raises(ValueError, match="did not resolve"):
        module_jars(tmp_path, reindex, "2.19.5", frozenset())


def test_security_policy_grants_each_permission() -> None:
    policy = security_policy(['java.lang.RuntimePermission "createClassLoader"'])
    assert policy == 'grant {\n  permission java.lang.RuntimePermission "createClassLoader";\n};\n'
