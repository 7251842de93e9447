"""Connect to OpenSearch: basic auth or AWS SigV4, TLS verified by default, compressed requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth

from okta_pipeline.lib.loopback import is_loopback


@dataclass(frozen=True)
class OpenSearchSettings:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    aws_region: str | None = None
    """Set for Amazon OpenSearch Service: requests are signed with SigV4 (service `es`)."""
    aws_service: str = "es"
    verify_certs: bool = True
    ca_certs: str | None = None
    timeout_seconds: float = 60.0
    compress: bool = True

    @property
    def auth(self) -> tuple[str, str] | None:
        """Basic-auth credentials, when a username is set."""
        return (self.username, self.password or "") if self.username else None


def connect(settings: OpenSearchSettings) -> OpenSearch:
    if settings.username and settings.aws_region:
        raise ValueError("use either basic auth (username) or SigV4 (aws_region), not both")
    parts = urlsplit(settings.url)
    signed = bool(settings.username or settings.aws_region)
    if parts.scheme == "http" and signed and not is_loopback(parts.hostname):
        raise ValueError(
            f"refusing to send OpenSearch credentials over plain http to {parts.hostname}: use "
            "https (plain http is allowed only to a node on this machine)"
        )
    auth: Any = None
    if settings.aws_region:
        import boto3  # dagster-aws brings it; imported here so local use never needs AWS

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise ValueError(
                "aws_region is set but no AWS credentials were found (environment, profile or "
                "instance role); SigV4 signing needs them"
            )
        auth = Urllib3AWSV4SignerAuth(credentials, settings.aws_region, settings.aws_service)
    else:
        auth = settings.auth
    return OpenSearch(
        hosts=[settings.url],
        http_auth=auth,
        use_ssl=settings.url.startswith("https://"),
        verify_certs=settings.verify_certs,
        ca_certs=settings.ca_certs,
        http_compress=settings.compress,
        timeout=settings.timeout_seconds,
        max_retries=2,
        retry_on_timeout=True,
    )
