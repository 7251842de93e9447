"""A cluster that never had a monitor: Alerting answers the monitor search with 404 because its
config index does not exist yet. The sync reads that as no monitors stored. The shared node
has had monitors since its first test run, so a local stand-in serves the answer Alerting 2.19
gives on a node without its config index."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import ClassVar

from okta_pipeline.lib.http_server import BackgroundHTTPServer, send_json
from okta_pipeline.lib.monitors.sync import MonitorSync
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect

NOT_FOUND = {
    "error": {
        "root_cause": [
            {
                "type": "index_not_found_exception",
                "reason": "Configured indices are not found: [.opendistro-alerting-config]",
                "index": ".opendistro-alerting-config",
            }
        ],
        "type": "index_not_found_exception",
        "reason": "Configured indices are not found: [.opendistro-alerting-config]",
        "index": ".opendistro-alerting-config",
    },
    "status": 404,
}


class FreshAlerting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    searched: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        FreshAlerting.searched.append(self.path)
        send_json(self, 404, NOT_FOUND)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_cluster_without_any_monitor_has_none_stored() -> None:
    with BackgroundHTTPServer(FreshAlerting) as server:
        sync = MonitorSync(connect(OpenSearchSettings(server.base_url)), owner="okta_pipeline")
        assert sync.stored() == {}
    assert FreshAlerting.searched == ["/_plugins/_alerting/monitors/_search"]
