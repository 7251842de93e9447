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
from okta_pipeline.lib.local_opensearch.assembly import Assembly, core_distribution
from okta_pipeline.lib.local_opensearch.layout import NodeLayout
from okta_pipeline.lib.local_opensearch.maven import MavenCache
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings

local_only = pytest.mark.skipif(
    external_endpoint(os.environ) is not None,
    reason="OPENSEARCH_URL points at an external cluster; the local node is not provisioned",
)


@local_only
def test_status_lists_the_rebuilt_modules_and_installed_plugins(
    opensearch_endpoint: OpenSearchSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["opensearch", "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["running"] is True
    assert report["url"] == opensearch_endpoint.url
    assert report["version"].startswith("2.19.")
    assert {"lang-painless", "lang-mustache"} <= set(report["modules"])
    assert "opensearch-job-scheduler" in report["plugins"]
    # Whatever Maven could not supply is reported, never silently missing.
    expected = {
        "alerting",
        "notifications",
        "opensearch-notifications-core",
        "opensearch-index-management",
    }
    assert expected <= set(report["plugins"]) | set(report["unavailable_plugins"])


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
    assert assembly is not None and assembly.modules == ["lang-painless", "lang-mustache"]
    offline = MavenCache(local_layout.maven_repository, mvn="mvn-is-not-called-when-cached")
    assert offline.fetch(core_distribution(local_layout.version)).is_file()


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
    Assembly(version=layout.version, modules=["lang-painless"]).save(layout.assembly_record)
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
