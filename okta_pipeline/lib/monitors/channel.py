"""The Notifications webhook channel that monitors post new alerts to: the alert receiver.

The shared secret travels in the `X-Okta-Pipeline-Token` header (Notifications cannot sign a
body it renders). The channel's description holds a hash of its URL and secret, so the channel
is rewritten only when one of them changes.
"""

from __future__ import annotations

import hashlib

from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_errors

from okta_pipeline.lib.alerts.receiver import TOKEN_HEADER
from okta_pipeline.lib.opensearch.index_setup import has_plugin

CONFIGS = "/_plugins/_notifications/configs"
NOTIFICATIONS_PLUGIN = "opensearch-notifications"


def channel_id(owner: str) -> str:
    return f"okta-pipeline-receiver-{owner}"


def has_notifications(client: OpenSearch) -> bool:
    return has_plugin(client, NOTIFICATIONS_PLUGIN)


def ensure_receiver_channel(client: OpenSearch, owner: str, url: str, secret: str) -> str:
    """Create or update the webhook channel to the receiver at `url`; return its id."""
    config_id = channel_id(owner)
    fingerprint = hashlib.sha256(f"{url}\n{secret}".encode()).hexdigest()[:16]
    description = f"okta_pipeline alert receiver ({fingerprint})"
    config = {
        "name": f"okta_pipeline alert receiver ({owner})",
        "description": description,
        "config_type": "webhook",
        "is_enabled": True,
        "webhook": {
            "url": url,
            "method": "POST",
            "header_params": {"Content-Type": "application/json", TOKEN_HEADER: secret},
        },
    }
    try:
        found = client.transport.perform_request("GET", f"{CONFIGS}/{config_id}")
    except os_errors.NotFoundError:
        client.transport.perform_request(
            "POST", CONFIGS, body={"config_id": config_id, "config": config}
        )
        return config_id
    current = found["config_list"][0]["config"] if found.get("config_list") else {}
    if current.get("description") != description:
        client.transport.perform_request("PUT", f"{CONFIGS}/{config_id}", body={"config": config})
    return config_id


def remove_receiver_channel(client: OpenSearch, owner: str) -> None:
    client.transport.perform_request(
        "DELETE", f"{CONFIGS}/{channel_id(owner)}", params={"ignore": 404}
    )
