from __future__ import annotations

from pathlib import Path

import pytest

from okta_pipeline.lib.local_opensearch.maven import (
    Artifact,
    MavenCache,
    MavenError,
    _summarize_mvn_failure,
)


def test_artifact_path_follows_maven_layout() -> None:
    artifact = Artifact("org.opensearch.plugin", "alerting", "2.19.4.0", "zip")
    assert artifact.coordinate == "org.opensearch.plugin:alerting:2.19.4.0:zip"
    assert artifact.relative_path() == Path(
        "org/opensearch/plugin/alerting/2.19.4.0/alerting-2.19.4.0.zip"
    )


def test_cached_artifacts_are_served_without_mvn(tmp_path: Path) -> None:
    artifact = Artifact("g.h", "a", "1")
    cache = MavenCache(tmp_path, mvn="no-such-mvn-binary")
    cache.path_of(artifact).parent.mkdir(parents=True)
    cache.path_of(artifact).write_bytes(b"jar")
    assert cache.fetch(artifact).read_bytes() == b"jar"


def test_missing_artifact_without_mvn_says_what_to_install(tmp_path: Path) -> None:
    cache = MavenCache(tmp_path, mvn="no-such-mvn-binary")
    with pytest.raises(MavenError, match=r"install Maven .* OPENSEARCH_URL"):
        cache.fetch(Artifact("g.h", "a", "1"))


def test_mvn_failure_is_reduced_to_its_cause() -> None:
    output = (
        "\x1b[0m[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:"
        "3.8.1:get (default-cli) on project standalone-pom: Couldn't download artifact: Could not "
        "find artifact org.opensearch.plugin:alerting:zip:2.19.4.0 in central "
        "(https://repo.maven.apache.org/maven2) -> [Help 1]\n[ERROR] \n"
    )
    assert _summarize_mvn_failure(output) == (
        "Could not find artifact org.opensearch.plugin:alerting:zip:2.19.4.0 in central "
        "(https://repo.maven.apache.org/maven2)"
    )
