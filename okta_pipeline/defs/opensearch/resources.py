"""The OpenSearch resource: where the cluster is, how to authenticate, how indices are set up."""

from __future__ import annotations

import time

import dagster as dg
from opensearchpy import OpenSearch
from pydantic import Field

from okta_pipeline.lib.aws_secrets import secret_pair
from okta_pipeline.lib.cloudtrail.index import CLOUDTRAIL_PREFIX
from okta_pipeline.lib.correlation.identity_link import SESSIONS_PREFIX
from okta_pipeline.lib.destination_hosts import require_allowed_host
from okta_pipeline.lib.opensearch.connection import OpenSearchSettings, connect


class OpenSearchResource(dg.ConfigurableResource):
    """Pass secrets with `dg.EnvVar`, or name an AWS Secrets Manager secret holding
    `{"username": ..., "password": ...}`; SigV4 (Amazon OpenSearch Service) needs `aws_region`."""

    url: str = Field(description="https://search.example.com:443, or the local node's URL")
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    credentials_secret_id: str | None = Field(
        default=None, description="Secrets Manager secret with username and password (JSON)"
    )
    aws_region: str | None = Field(default=None, description="Sign requests with SigV4 (es)")
    verify_certs: bool = True
    ca_certs: str | None = Field(default=None, description="CA bundle for a private CA")
    timeout_seconds: float = 60.0
    index_prefix: str = "okta-logs"
    findings_prefix: str = Field(
        default="okta-findings", description="Daily indices of detection findings"
    )
    # The security role (lib/opensearch/security_roles.py) is made for these same defaults.
    cloudtrail_prefix: str = Field(
        default=CLOUDTRAIL_PREFIX, description="Daily indices of CloudTrail records"
    )
    sessions_prefix: str = Field(
        default=SESSIONS_PREFIX,
        description="Daily indices linking AWS sessions to the Okta users and sessions behind them",
    )
    shards: int = 1
    replicas: int = Field(default=0, description="0 on a single node; 1+ on a real cluster")
    retention_days: int = Field(default=90, ge=1)
    bulk_chunk_bytes: int = Field(default=5 * 1024 * 1024, ge=64 * 1024, le=100 * 1024 * 1024)

    def settings(self) -> OpenSearchSettings:
        require_allowed_host(self.url, "the OpenSearch resource's url")
        username, password = self.username, self.password
        if self.credentials_secret_id:
            username, password = self._secret_credentials()
        return OpenSearchSettings(
            url=self.url,
            username=username,
            password=password,
            aws_region=self.aws_region,
            verify_certs=self.verify_certs,
            ca_certs=self.ca_certs,
            timeout_seconds=self.timeout_seconds,
        )

    def client(self) -> OpenSearch:
        return connect(self.settings())

    def wait(self, seconds: float) -> None:
        """How a load waits before retrying what the cluster throttled (the fault tests run a
        ten-minute 429 storm on a clock this wait advances)."""
        time.sleep(seconds)

    def _secret_credentials(self) -> tuple[str, str]:
        # aws_region is for SigV4, which does not combine with basic-auth credentials.
        return secret_pair(str(self.credentials_secret_id), "username", "password")
