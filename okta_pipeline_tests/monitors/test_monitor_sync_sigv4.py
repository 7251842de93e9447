"""Monitor sync on Amazon OpenSearch Service: every request it makes is signed with SigV4.

A recording proxy on 127.0.0.1 stands in for the domain's endpoint (AWS cannot run here): it
keeps each request's headers and passes the request on to the real node, so the sync is also
proven to work through a signing client, not only to sign."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.catalog import load_catalog
from okta_pipeline.lib.http_server import BackgroundHTTPServer
from okta_pipeline.lib.monitors.compile import MonitorOptions
from okta_pipeline.lib.monitors.sync import MONITORS, MonitorSync
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline_tests.monitors.helpers import catalog_monitors

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOT_FORWARDED = {"host", "content-length", "connection", "authorization"}


@pytest.fixture
def signing_proxy(
    opensearch_endpoint: OpenSearchSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, list[tuple[str, str, dict[str, str]]]]]:
    """A proxy to the node that records (method, path, headers); AWS credentials for a client."""
    seen: list[tuple[str, str, dict[str, str]]] = []
    node = opensearch_endpoint.url

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = dict(self.headers.items())
            seen.append((self.command, self.path, headers))
            answer = httpx.request(
                self.command,
                node + self.path,
                content=body,
                headers={k: v for k, v in headers.items() if k.lower() not in NOT_FORWARDED},
                timeout=60,
            )
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def do_GET(self) -> None:
            self._forward()

        def do_POST(self) -> None:
            self._forward()

        def do_PUT(self) -> None:
            self._forward()

        def do_DELETE(self) -> None:
            self._forward()

        def do_HEAD(self) -> None:
            self._forward()

        def log_message(self, format: str, *args: object) -> None:
            pass

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with BackgroundHTTPServer(Proxy) as server:
        yield server.base_url, seen


def test_monitor_sync_through_sigv4_signs_every_request(
    signing_proxy: tuple[str, list[tuple[str, str, dict[str, str]]]],
    opensearch: OpenSearch,
    owner: str,
) -> None:
    url, seen = signing_proxy
    client = connect(OpenSearchSettings(url=url, aws_region="eu-west-1"))
    options = MonitorOptions(indices=daily_indices(owner), owner=owner, enabled=False)
    desired = catalog_monitors(list(load_catalog().enabled())[:4], options)
    sync = MonitorSync(client, owner)

    assert sync.sync(desired).summary()["created"] == len(desired)
    assert sync.sync(desired).summary()["unchanged"] == len(desired)
    assert len(MonitorSync(opensearch, owner).stored()) == len(desired)  # really on the node

    calls = {(method, path.split("?")[0]) for method, path, _ in seen}
    assert ("POST", f"{MONITORS}/_search") in calls and ("POST", MONITORS) in calls
    for _, path, headers in seen:
        authorization = headers.get("Authorization", "")
        assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), path
        assert "/eu-west-1/es/aws4_request" in authorization, path
        assert "x-amz-date" in {k.lower() for k in headers}, path
        assert SECRET_KEY not in json.dumps(headers)
