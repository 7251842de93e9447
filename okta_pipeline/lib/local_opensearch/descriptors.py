"""The two files every OpenSearch plugin or module directory carries besides its jars."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# OpenSearch 2.x plugins are compiled for Java 11 bytecode.
JAVA_VERSION = "11"


def plugin_descriptor(
    *,
    name: str,
    description: str,
    version: str,
    opensearch_version: str,
    classname: str,
    extended_plugins: Sequence[str] = (),
) -> str:
    """plugin-descriptor.properties: what the node reads to load the plugin's class."""
    return "\n".join(
        [
            f"description={description}",
            f"version={version}",
            f"name={name}",
            f"classname={classname}",
            f"java.version={JAVA_VERSION}",
            f"opensearch.version={opensearch_version}",
            f"extended.plugins={','.join(extended_plugins)}",
            "has.native.controller=false",
            "",
        ]
    )


def security_policy(permissions: Iterable[str]) -> str:
    """A plugin-security.policy granting `permissions` to all of the plugin's code."""
    grants = "".join(f"  permission {p};\n" for p in permissions)
    return f"grant {{\n{grants}}};\n"
