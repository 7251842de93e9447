"""Rebuild OpenSearch modules (Painless, Mustache, reindex) from their Maven Central jars.

The integ-test distribution ships without them, and Maven Central publishes modules only as
jars, without the plugin descriptor and security policy that a module directory needs. Maven
resolves each module's libraries (`maven/node-modules`); this module writes the two files.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from okta_pipeline.lib.local_opensearch.descriptors import plugin_descriptor, security_policy
from okta_pipeline.lib.local_opensearch.jars import artifact_name
from okta_pipeline.lib.local_opensearch.maven_build.project import (
    Progress,
    copy_maven_tree,
    run_maven,
)


@dataclass(frozen=True)
class ModuleSpec:
    name: str
    description: str
    jar_name: str
    """The module's own jar on Maven Central (group org.opensearch.plugin)."""
    permissions: tuple[str, ...]


NODE_MODULES = (
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
    ModuleSpec(
        name="reindex",
        description="_reindex, _update_by_query and _delete_by_query, rebuilt by okta_pipeline",
        jar_name="reindex-client",
        # Reindex from a remote cluster opens sockets through the REST client, which asks for
        # the default proxy.
        permissions=(
            'java.net.SocketPermission "*", "connect"',
            'java.net.NetPermission "getProxySelector"',
        ),
    ),
)


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


def module_jars(
    resolved: Path, spec: ModuleSpec, version: str, shipped: frozenset[str]
) -> list[Path]:
    """The module's own jar first, then its libraries that the node's lib/ does not have."""
    own = resolved / f"{spec.jar_name}-{version}.jar"
    if not own.is_file():
        raise ValueError(f"Maven did not resolve {own.name} for module {spec.name}")
    libraries = sorted(
        jar for jar in resolved.glob("*.jar") if jar != own and artifact_name(jar) not in shipped
    )
    return [own, *libraries]


def assemble_modules(
    modules_dir: Path,
    version: str,
    shipped: frozenset[str],
    *,
    work: Path,
    repository: Path,
    java_home: Path,
    progress: Progress,
    environ: Mapping[str, str],
    mvn: str = "mvn",
) -> list[str]:
    """Write `modules_dir/<name>` for every module (jars, descriptor, policy); return the names.

    `shipped` names the artifacts of the node's lib/: a second copy in a module is refused.
    """
    shutil.rmtree(work, ignore_errors=True)
    copy_maven_tree(work / "maven")
    resolved = work / "jars"
    run_maven(
        work / "maven" / "node-modules" / "pom.xml",
        goals=["package"],
        repository=repository,
        properties={"modules.dir": str(resolved), "opensearch.version": version},
        java_home=java_home,
        log=work / "maven.log",
        progress=progress,
        environ=environ,
        mvn=mvn,
    )
    for spec in NODE_MODULES:
        jars = module_jars(resolved / spec.name, spec, version, shipped)
        target = modules_dir / spec.name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for jar in jars:
            shutil.copy2(jar, target / jar.name)
        (target / "plugin-descriptor.properties").write_text(
            plugin_descriptor(
                name=spec.name,
                description=spec.description,
                version=version,
                opensearch_version=version,
                classname=plugin_classname(jars[0]),
            )
        )
        (target / "plugin-security.policy").write_text(security_policy(spec.permissions))
    shutil.rmtree(work, ignore_errors=True)
    return [spec.name for spec in NODE_MODULES]
