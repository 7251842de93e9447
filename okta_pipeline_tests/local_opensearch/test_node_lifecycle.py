"""`okta-pipeline opensearch up|status|down` against the real local node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from okta_pipeline.cli.main import main
from okta_pipeline.lib.cluster_endpoint import external_endpoint
from okta_pipeline.lib.local_opensearch import node
from okta_pipeline.lib.local_opensearch.assembly import (
    NODE_PLUGINS,
    SOURCES_VARIABLE,
    Assembly,
    assembly_recipe,
    core_distribution,
)
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.local_opensearch.maven import MavenCache
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings

local_only = pytest.mark.skipif(
    external_endpoint(os.environ) is not None,
    reason="OPENSEARCH_URL points at an external cluster; the local node is not provisioned",
)


@local_only
def test_status_lists_every_plugin_and_module_the_pipeline_uses(
    opensearch_endpoint: OpenSearchSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["opensearch", "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["running"] is True
    assert report["url"] == opensearch_endpoint.url
    assert report["version"].startswith("2.19.")
    assert report["unavailable_plugins"] == {}, "make test supplies every plugin"
    assert set(report["plugins"]) == {spec.name for spec in NODE_PLUGINS}
    assert set(report["plugin_origins"]) == set(report["plugins"])
    assert {"lang-painless", "lang-mustache", "reindex"} <= set(report["modules"])
    assert main(["opensearch", "status"]) == 0
    text = capsys.readouterr().out
    for name in (*report["plugins"], "lang-painless", "lang-mustache", "reindex"):
        assert name in text


@local_only
def test_up_when_running_is_a_no_op_that_prints_the_url(
    opensearch_endpoint: OpenSearchSettings,
    local_layout: NodeLayout,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = node.running_node(local_layout)
    assert before is not None
    assert main(["opensearch", "up"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == opensearch_endpoint.url
    assert "already running" in captured.err
    after = node.running_node(local_layout)
    assert after is not None and after.pid == before.pid


@local_only
def test_second_provisioning_needs_no_download(
    opensearch_endpoint: OpenSearchSettings, local_layout: NodeLayout
) -> None:
    """The node was assembled once; its downloads are served from the cache without mvn."""
    assembly = Assembly.load(local_layout.assembly_record)
    assert assembly is not None
    assert assembly.modules == ["lang-painless", "lang-mustache", "reindex"]
    offline = MavenCache(local_layout.maven_repository, mvn="mvn-is-not-called-when-cached")
    assert offline.fetch(core_distribution(local_layout.version)).is_file()


@local_only
def test_without_plugin_sources_the_node_starts_and_status_says_how_to_supply_them(
    local_layout: NodeLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A second node, sharing the session's download cache, on a network with no plugin zips."""
    monkeypatch.delenv(SOURCES_VARIABLE, raising=False)
    monkeypatch.setenv("OKTA_PIPELINE_CACHE_DIR", str(local_layout.cache_dir))
    monkeypatch.setenv("OKTA_PIPELINE_OPENSEARCH_DIR", str(tmp_path))
    layout = NodeLayout.default(os.environ)
    assert layout.maven_repository == local_layout.maven_repository
    running = node.start(layout, port=_free_port(), heap="256m")
    try:
        assert main(["opensearch", "status", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["running"] is True and report["url"] == running.url
        unavailable = report["unavailable_plugins"]
        if not unavailable:
            pytest.skip("this network's Maven repositories serve every plugin zip")
        assert set(report["plugins"]) | set(unavailable) == {s.name for s in NODE_PLUGINS}
        alerting = unavailable["opensearch-alerting"]
        assert "org.opensearch.plugin:alerting:2.19.4.0:zip" in alerting
        assert f"{SOURCES_VARIABLE} is not set" in alerting
        assert "opensearch-alerting-2.19.4.0-src.tar.gz" in alerting
        assert "okta-pipeline opensearch up --refresh" in alerting
        if "opensearch-notifications-core" in unavailable:
            assert (
                "extends opensearch-notifications-core" in unavailable["opensearch-notifications"]
            )
        assert main(["opensearch", "status"]) == 0
        text = capsys.readouterr().out
        assert "missing plugins:" in text and "opensearch-alerting:" in text
    finally:
        node.stop(layout)


def test_down_never_signals_a_process_it_did_not_start(tmp_path: Path) -> None:
    layout = NodeLayout(cache_dir=tmp_path / "cache", node_dir=tmp_path / "node")
    layout.node_dir.mkdir(parents=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        layout.state_file.write_text(json.dumps({"pid": bystander.pid, "url": "http://x"}))
        assert node.stop(layout) is False
        assert bystander.poll() is None, "stop() must not touch a process that is not our node"
        assert not layout.state_file.exists(), "a stale state file is cleared"
    finally:
        bystander.kill()
        bystander.wait()


def test_a_node_that_dies_at_startup_fails_with_its_log(tmp_path: Path) -> None:
    layout = NodeLayout(cache_dir=tmp_path / "cache", node_dir=tmp_path / "node")
    (layout.home / "bin").mkdir(parents=True)
    (layout.home / "config").mkdir()
    Assembly(
        version=layout.version, recipe=assembly_recipe(layout.version), modules=["lang-painless"]
    ).save(layout.assembly_record)
    launcher = layout.home / "bin" / "opensearch"
    launcher.write_text("#!/bin/sh\necho 'fatal: bootstrap checks failed (example)'\nexit 78\n")
    launcher.chmod(0o755)
    with pytest.raises(node.NodeError) as failure:
        node.start(layout, port=_free_port(), timeout=30)
    assert "exited with code 78" in str(failure.value)
    assert "bootstrap checks failed (example)" in str(failure.value)
    assert not layout.state_file.exists()


def test_up_refuses_a_port_held_by_something_else(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        layout = NodeLayout(cache_dir=tmp_path / "cache", node_dir=tmp_path / "node")
        with pytest.raises(node.NodeError, match=f"port {port} .* in use"):
            node.start(layout, port=port)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
