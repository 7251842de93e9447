"""What each plugin source tarball builds: its Maven project, and the plugin zips it yields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltPlugin:
    """One plugin zip assembled from a Maven module's jar and the jars it bundles."""

    name: str
    """The plugin's name as the node reports it."""
    maven_module: str
    """The module folder under `maven/` whose target/ holds the jar and bundle/."""
    classname: str
    description: str
    policy: str
    """The plugin's own plugin-security.policy, as a path inside the unpacked sources."""
    config: str | None = None
    """A config folder inside the sources that the plugin ships (installed into config/<name>)."""
    extended_plugins: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceRecipe:
    """A source tarball `<project>-<version>-src.tar.gz` and how to build it."""

    project: str
    upstream: str
    pom: str
    """The Maven project to run, relative to `maven/`."""
    required_paths: tuple[str, ...]
    plugins: tuple[BuiltPlugin, ...]
    verified_sha256: str
    """The tarball this build was verified with (others are built, with a warning)."""

    def tarball_name(self, plugin_version: str) -> str:
        return f"{self.project}-{plugin_version}-src.tar.gz"


SOURCE_RECIPES = (
    SourceRecipe(
        project="opensearch-alerting",
        upstream="https://github.com/opensearch-project/alerting",
        pom="alerting/pom.xml",
        required_paths=(
            "alerting/src/main/kotlin",
            "alerting/src/main/java",
            "core/src/main/kotlin",
            "spi/src/main/kotlin",
        ),
        plugins=(
            BuiltPlugin(
                name="opensearch-alerting",
                maven_module="alerting",
                classname="org.opensearch.alerting.AlertingPlugin",
                description="OpenSearch Alerting, built from source by okta_pipeline",
                policy="alerting/src/main/plugin-metadata/plugin-security.policy",
                # Alerting registers Painless allow-lists for trigger conditions.
                extended_plugins=("lang-painless",),
            ),
        ),
        verified_sha256="ff5f6897a6915690eb621f300a8d943c6fb6f97dc8a92b2349fffcfe86a45966",
    ),
    SourceRecipe(
        project="opensearch-notifications",
        upstream="https://github.com/opensearch-project/notifications",
        pom="notifications/pom.xml",
        required_paths=(
            "notifications/core-spi/src/main/kotlin",
            "notifications/core/src/main/kotlin",
            "notifications/notifications/src/main/kotlin",
        ),
        plugins=(
            BuiltPlugin(
                name="opensearch-notifications-core",
                maven_module="notifications/core",
                classname="org.opensearch.notifications.core.NotificationCorePlugin",
                description="OpenSearch Notifications Core, built from source by okta_pipeline",
                policy="notifications/core/src/main/plugin-metadata/plugin-security.policy",
                config="notifications/core/src/main/config",
            ),
            BuiltPlugin(
                name="opensearch-notifications",
                maven_module="notifications/notifications",
                classname="org.opensearch.notifications.NotificationPlugin",
                description="OpenSearch Notifications, built from source by okta_pipeline",
                policy="notifications/notifications/src/main/plugin-metadata/plugin-security.policy",
                config="notifications/notifications/src/main/config",
                extended_plugins=("opensearch-notifications-core",),
            ),
        ),
        verified_sha256="3fc9a1459596009dce7a4ae7e3775f81fc91ec7a73ddd73bbf4ef5d389deec29",
    ),
    SourceRecipe(
        project="opensearch-index-management",
        upstream="https://github.com/opensearch-project/index-management",
        pom="index-management/pom.xml",
        required_paths=("src/main/kotlin", "src/main/resources", "spi/src/main/kotlin"),
        plugins=(
            BuiltPlugin(
                name="opensearch-index-management",
                maven_module="index-management",
                classname="org.opensearch.indexmanagement.IndexManagementPlugin",
                description="OpenSearch Index Management, built from source by okta_pipeline",
                policy="src/main/plugin-metadata/plugin-security.policy",
                extended_plugins=("opensearch-job-scheduler",),
            ),
        ),
        verified_sha256="1ae8f0f41349c34aa71df17a98766d03ee10c74d88f02c589bbdc71b20550724",
    ),
)


def recipe_for(plugin: str) -> SourceRecipe | None:
    """The recipe whose build yields `plugin`, if any."""
    return next((r for r in SOURCE_RECIPES if any(p.name == plugin for p in r.plugins)), None)
