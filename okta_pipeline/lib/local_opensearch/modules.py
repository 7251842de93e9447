"""Rebuild OpenSearch script modules (Painless, Mustache) from their Maven Central jars.

The integ-test distribution ships without them, and Maven Central publishes modules only as
jars, without the plugin descriptor and security policy that a module directory needs. This
module writes those two files itself.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from okta_pipeline.lib.local_opensearch.maven import Artifact, MavenCache, compile_dependencies

# Core jars already sit in the node's lib/; a second copy in a module is "jar hell" at startup.
CORE_GROUP = "org.opensearch"


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    description: str
    jar_name: str
    permissions: tuple[str, ...]

    def jar(self, version: str) -> Artifact:
        return Artifact("org.opensearch.plugin", self.jar_name, version)


SCRIPT_MODULES = (
    ModuleSpec(
        name="lang-painless",
        description="Painless scripting language, rebuilt from Maven Central by okta_pipeline",
        jar_name="lang-painless",
        # Painless compiles scripts into classes at run time and loads allow-listed classes.
        permissions=(
            'java.lang.RuntimePermission "createClassLoader"',
            'java.lang.RuntimePermission "getClassLoader"',
        ),
    ),
    ModuleSpec(
        name="lang-mustache",
        description="Mustache templates, rebuilt from Maven Central by okta_pipeline",
        jar_name="lang-mustache-client",
        # mustache.java reads template variables from objects through reflection.
        permissions=(
            'java.lang.RuntimePermission "accessDeclaredMembers"',
            'java.lang.reflect.ReflectPermission "suppressAccessChecks"',
        ),
    ),
)


def resolve_jars(cache: MavenCache, root: Artifact) -> list[Path]:
    """The root jar and its transitive runtime jars, nearest version first, core excluded."""
    chosen: dict[tuple[str, str], Artifact] = {}
    queue = [root]
    while queue:
        artifact = queue.pop(0)
        key = (artifact.group, artifact.name)
        if artifact.group == CORE_GROUP or key in chosen:
            continue
        chosen[key] = artifact
        pom = cache.fetch(artifact.with_packaging("pom"))
        queue.extend(compile_dependencies(pom))
    return [cache.fetch(artifact) for artifact in chosen.values()]


def plugin_classname(jar: Path) -> str:
    """The single top-level `*Plugin` class the module jar defines."""
    with zipfile.ZipFile(jar) as archive:
        names = [
            n[: -len(".class")].replace("/", ".")
            for n in archive.namelist()
            if n.endswith("Plugin.class") and "$" not in n
        ]
    if len(names) != 1:
        raise ValueError(f"expected one *Plugin class in {jar.name}, found {names or 'none'}")
    return names[0]


def descriptor(spec: ModuleSpec, version: str, classname: str) -> str:
    return "\n".join(
        [
            f"description={spec.description}",
            f"version={version}",
            f"name={spec.name}",
            f"classname={classname}",
            "java.version=11",
            f"opensearch.version={version}",
            "extended.plugins=",
            "has.native.controller=false",
            "",
        ]
    )


def security_policy(permissions: Iterable[str]) -> str:
    grants = "".join(f"  permission {p};\n" for p in permissions)
    return f"grant {{\n{grants}}};\n"


def assemble_module(cache: MavenCache, spec: ModuleSpec, version: str, modules_dir: Path) -> Path:
    """Write `modules_dir/<name>` with the module's jars, descriptor and policy; return it."""
    jars = resolve_jars(cache, spec.jar(version))
    target = modules_dir / spec.name
    staging = modules_dir / f".{spec.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for jar in jars:
        shutil.copy2(jar, staging / jar.name)
    (staging / "plugin-descriptor.properties").write_text(
        descriptor(spec, version, plugin_classname(jars[0]))
    )
    (staging / "plugin-security.policy").write_text(security_policy(spec.permissions))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
