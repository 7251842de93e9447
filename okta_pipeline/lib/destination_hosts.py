"""Which hosts a run may send credentials to: the ones the deployment names, never one a run's
config names. A run launched from the UI can override any resource field, a base URL among
them; the token would follow it. The allowlist comes from the process environment, which only
the deployment sets (terraform/ecs.tf), so a run's config cannot widen it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from okta_pipeline.lib.loopback import is_loopback

ALLOWED_HOSTS_VARIABLE = "OKTA_PIPELINE_ALLOWED_HOSTS"
"""Comma-separated extra hosts credentials may go to (e.g. a proxy in front of Okta)."""
DEPLOYMENT_URL_VARIABLES = (
    "OKTA_BASE_URL",
    "OPENSEARCH_URL",
    "JIRA_BASE_URL",
    "SLACK_WEBHOOK_URL",
    "OPENOBSERVE_URL",
)
"""The deployment's own destinations: their hosts are allowed without listing them again."""
BUILT_IN_HOSTS = frozenset({"slack.com", "hooks.slack.com"})


class HostNotAllowedError(ValueError):
    """A destination's URL names a host the deployment did not allow."""


def allowed_hosts(environ: Mapping[str, str]) -> frozenset[str]:
    """Hosts of the deployment's URL variables, the extra ones it lists, and Slack's own."""
    hosts = set(BUILT_IN_HOSTS)
    for variable in DEPLOYMENT_URL_VARIABLES:
        host = _host(environ.get(variable) or "")
        if host:
            hosts.add(host)
    listed = environ.get(ALLOWED_HOSTS_VARIABLE) or ""
    hosts.update(name.strip().lower() for name in listed.split(",") if name.strip())
    return frozenset(hosts)


def require_allowed_host(url: str, setting: str, environ: Mapping[str, str] | None = None) -> None:
    """Refuse `url` (the value of `setting`) unless its host is this machine's or allowed."""
    host = _host(url)
    if is_loopback(host):
        return
    allowed = allowed_hosts(os.environ if environ is None else environ)
    if host and host in allowed:
        return
    raise HostNotAllowedError(
        f"{setting} names {host or url!r}, a host this deployment does not allow credentials "
        f"to go to; allowed: {', '.join(sorted(allowed))} and this machine. A run's config "
        f"cannot add one: set {ALLOWED_HOSTS_VARIABLE} (or the URL variable itself, e.g. "
        "OKTA_BASE_URL) in the deployment's environment"
    )


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None
