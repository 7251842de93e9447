from __future__ import annotations

from pathlib import Path

import pytest

from okta_pipeline.lib.local_opensearch.java import JavaNotFoundError, find_java, parse_major


def fake_java(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-04-15' >&2\n")
    java.chmod(0o755)
    return home


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "25.0.1" 2025-10-21 LTS', 25),
        ("garbage", None),
    ],
)
def test_parse_major(output: str, major: int | None) -> None:
    assert parse_major(output) == major


def test_explicit_supported_java_home_wins(tmp_path: Path) -> None:
    seventeen = fake_java(tmp_path, "jdk17", "17.0.15")
    twenty_one = fake_java(tmp_path, "jdk21", "21.0.2")
    environ = {"OPENSEARCH_JAVA_HOME": str(seventeen), "JAVA_HOME": str(twenty_one), "PATH": ""}
    runtime = find_java(environ)
    assert (runtime.home, runtime.major) == (seventeen.resolve(), 17)


def test_java_24_plus_is_skipped_for_a_supported_one(tmp_path: Path) -> None:
    newest = fake_java(tmp_path, "jdk25", "25.0.1")
    fallback = fake_java(tmp_path, "jdk21", "21.0.2")
    environ = {"JAVA_HOME": str(newest), "PATH": str(fallback / "bin")}
    runtime = find_java(environ)
    assert runtime.major == 21


def test_no_supported_java_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okta_pipeline.lib.local_opensearch import java as java_module

    newest = fake_java(tmp_path, "jdk25", "25.0.1")
    monkeypatch.setattr(java_module, "candidate_homes", lambda environ: iter([newest]))
    with pytest.raises(JavaNotFoundError) as failure:
        find_java({})
    message = str(failure.value)
    assert "Java 17 or 21" in message
    assert "Java 25" in message
    assert "OPENSEARCH_JAVA_HOME" in message
