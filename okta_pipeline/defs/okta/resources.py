"""The Okta resource: configuration and secrets in, a Dagster-free client out."""

from __future__ import annotations

import time
from collections.abc import Callable

import dagster as dg
from pydantic import Field

from okta_pipeline.lib.destination_hosts import require_allowed_host
from okta_pipeline.lib.okta.client import OktaLogClient
from okta_pipeline.lib.okta.credentials import Credentials, ServiceAppCredentials, SswsToken
from okta_pipeline.lib.okta.errors import OktaAuthError
from okta_pipeline.lib.okta.rate_budget import RateBudget


class OktaResource(dg.ConfigurableResource):
    """Okta's System Log API. Give either `api_token` (SSWS) or an OAuth service app's
    `oauth_client_id` and `oauth_private_key` (plus `dpop_private_key` when the app needs DPoP).
    Pass secrets with `dg.EnvVar`, so they are read at run time and hidden in the UI."""

    base_url: str = Field(description="https://<your-org>.okta.com (or the simulator's URL)")
    api_token: str | None = Field(default=None, description="SSWS API token", repr=False)
    oauth_client_id: str | None = Field(default=None, description="OAuth service app client id")
    oauth_private_key: str | None = Field(
        default=None,
        description="PEM private key whose public half is registered on the app",
        repr=False,
    )
    oauth_key_id: str | None = Field(default=None, description="`kid` of that key, if set")
    dpop_private_key: str | None = Field(
        default=None,
        description="PEM key for DPoP proofs (must differ from the OAuth key)",
        repr=False,
    )
    rate_limit_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Largest share of the org's /api/v1/logs rate limit all of this pipeline's "
        "runs may use together (each stops when the org's remaining requests reach the rest)",
    )
    page_size: int = Field(default=1000, ge=1, le=1000)
    max_attempts: int = Field(default=6, ge=1, description="Attempts per request on 5xx/timeouts")
    backoff_seconds: float = Field(default=0.5, gt=0)
    reset_margin_seconds: float = Field(
        default=1.0, ge=0, description="Extra wait after a rate-limit reset, as Okta's SDKs do"
    )
    max_reset_wait_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Longest wait for a rate-limit reset; a longer X-Rate-Limit-Reset (Okta's "
        "windows are at most 60 s) fails the run instead, as a sign of rewritten headers",
    )
    timeout_seconds: float = Field(default=60.0, gt=0)

    def credentials(self) -> Credentials:
        if self.api_token and self.oauth_client_id:
            raise OktaAuthError("configure either api_token or the OAuth service app, not both")
        if self.api_token:
            return SswsToken(self.api_token)
        if self.oauth_client_id and self.oauth_private_key:
            return ServiceAppCredentials(
                token_url=self.base_url.rstrip("/") + "/oauth2/v1/token",
                client_id=self.oauth_client_id,
                private_key_pem=self.oauth_private_key,
                key_id=self.oauth_key_id,
                dpop_private_key_pem=self.dpop_private_key,
            )
        raise OktaAuthError(
            "no Okta credentials: set api_token (e.g. EnvVar('OKTA_API_TOKEN')), or "
            "oauth_client_id and oauth_private_key for a service app"
        )

    def client(
        self,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> OktaLogClient:
        """A client; `sleep` and `monotonic` are how it waits for rate-limit resets and
        retries (the fault tests run a ten-minute storm on a clock those waits advance)."""
        require_allowed_host(self.base_url, "the Okta resource's base_url")
        return OktaLogClient(
            self.base_url,
            self.credentials(),
            budget=RateBudget(
                self.rate_limit_share,
                self.reset_margin_seconds,
                self.max_reset_wait_seconds,
                sleep=sleep,
                monotonic=monotonic,
            ),
            page_size=self.page_size,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            timeout_seconds=self.timeout_seconds,
            sleep=sleep,
        )
