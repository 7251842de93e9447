from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from okta_pipeline.lib.local_opensearch.modules import (
    SCRIPT_MODULES,
    descriptor,
    plugin_classname,
    security_policy,
)


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


def test_descriptor_declares_the_node_version_and_no_extended_plugins() -> None:
    painless = SCRIPT_MODULES[0]
    properties = dict(
        line.split("=", 1)
        for line in descriptor(
            painless, "2.19.4", "org.opensearch.painless.PainlessPlugin"
        ).splitlines()
    )
    assert properties["name"] == "lang-painless"
    assert properties["version"] == properties["opensearch.version"] == "2.19.4"
    assert properties["classname"] == "org.opensearch.painless.PainlessPlugin"
    assert properties["extended.plugins"] == ""


def test_security_policy_grants_each_permission() -> None:
    policy = security_policy(['java.lang.RuntimePermission "createClassLoader"'])
    assert policy == 'grant {\n  permission java.lang.RuntimePermission "createClassLoader";\n};\n'
