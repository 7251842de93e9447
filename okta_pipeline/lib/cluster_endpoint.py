"""Which OpenSearch cluster the project talks to: one named by OPENSEARCH_URL, or the local node."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from okta_pipeline.lib.opensearch.connection import OpenSearchSettings


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def external_endpoint(environ: Mapping[str, str]) -> OpenSearchSettings | None:
    """The cluster named by OPENSEARCH_URL (plus OPENSEARCH_USERNAME/PASSWORD/CA_CERTS), if any."""
    url = environ.get("OPENSEARCH_URL", "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "OPENSEARCH_URL must be an http(s) URL such as https://search.example.com:443, "
            f"got {without_credentials(url)!r}"
        )
    return OpenSearchSettings(
        url=without_credentials(url),  # credentials live apart, so the URL is safe to print
        username=environ.get("OPENSEARCH_USERNAME") or parts.username,
        password=environ.get("OPENSEARCH_PASSWORD") or parts.password,
        ca_certs=environ.get("OPENSEARCH_CA_CERTS") or None,
    )


@dataclass(frozen=True)
class ClusterComponents:
    version: str
    modules: list[str]
    plugins: list[str]


def describe_components(endpoint: OpenSearchSettings, timeout: float = 10.0) -> ClusterComponents:
    """The OpenSearch version, modules and plugins of the node answering at `endpoint`."""
    verify: bool | str = endpoint.ca_certs or endpoint.verify_certs
    response = httpx.get(
        f"{endpoint.url}/_nodes/_local/plugins", auth=endpoint.auth, verify=verify, timeout=timeout
    )
    response.raise_for_status()
    (node,) = response.json()["nodes"].values()
    return ClusterComponents(
        version=str(node["version"]),
        modules=sorted(m["name"] for m in node["modules"]),
        plugins=sorted(p["name"] for p in node["plugins"]),
    )
