"""Deployment settings that shape the definitions themselves, read once when they load.

Secrets and connection details stay in resources as `dg.EnvVar`s, resolved at run time. What
lives here cannot: the fetch cadence and settle delay become automation conditions, and the
authentication method decides which resource fields exist. All of it is non-secret, and the
same in the code server and in every run (terraform/ecs.tf sets it on both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FETCH_INTERVALS = (5, 10, 15, 20, 30, 60)


class DeploymentSettingsError(ValueError):
    """A deployment setting in the environment has a value the pipeline cannot use."""


@dataclass(frozen=True)
class DeploymentSettings:
    fetch_every_minutes: int = 5
    settle_minutes: int = 2
    okta_auth_method: Literal["ssws", "oauth"] = "ssws"
    okta_oauth_dpop: bool = False
    okta_rate_limit_share: float = 0.5
    opensearch_aws_region: str | None = None
    opensearch_replicas: int = 0
    opensearch_retention_days: int = 90

    def __post_init__(self) -> None:
        if self.fetch_every_minutes not in FETCH_INTERVALS:
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_FETCH_EVERY_MINUTES={self.fetch_every_minutes} is not one of "
                f"{', '.join(map(str, FETCH_INTERVALS))}: the cadence must be a whole number of "
                "5-minute windows that divides an hour"
            )
        if not 0 <= self.settle_minutes <= 4:
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_SETTLE_MINUTES={self.settle_minutes} must be 0-4 (minutes after "
                "a 5-minute window closes before it is first fetched)"
            )
        if self.okta_auth_method not in ("ssws", "oauth"):
            raise DeploymentSettingsError(
                f"OKTA_AUTH_METHOD={self.okta_auth_method!r} must be 'ssws' (API token in "
                "OKTA_API_TOKEN) or 'oauth' (service app in OKTA_OAUTH_CLIENT_ID, "
                "OKTA_OAUTH_PRIVATE_KEY and OKTA_OAUTH_KEY_ID)"
            )
        if not 0 < self.okta_rate_limit_share <= 1:
            raise DeploymentSettingsError(
                f"OKTA_RATE_LIMIT_SHARE={self.okta_rate_limit_share} must be in (0, 1]"
            )
        if self.opensearch_replicas < 0 or self.opensearch_retention_days < 1:
            raise DeploymentSettingsError(
                "OPENSEARCH_REPLICAS must be 0 or more and OPENSEARCH_RETENTION_DAYS 1 or more"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> DeploymentSettings:
        """Settings from environment variables; unset ones keep the local defaults."""
        defaults = cls()
        return cls(
            fetch_every_minutes=_integer(
                environ, "OKTA_PIPELINE_FETCH_EVERY_MINUTES", defaults.fetch_every_minutes
            ),
            settle_minutes=_integer(
                environ, "OKTA_PIPELINE_SETTLE_MINUTES", defaults.settle_minutes
            ),
            okta_auth_method=environ.get(  # type: ignore[arg-type]  # checked in __post_init__
                "OKTA_AUTH_METHOD", defaults.okta_auth_method
            )
            .strip()
            .lower(),
            okta_oauth_dpop=_boolean(environ, "OKTA_OAUTH_DPOP", defaults.okta_oauth_dpop),
            okta_rate_limit_share=_number(
                environ, "OKTA_RATE_LIMIT_SHARE", defaults.okta_rate_limit_share
            ),
            opensearch_aws_region=environ.get("OPENSEARCH_AWS_REGION") or None,
            opensearch_replicas=_integer(
                environ, "OPENSEARCH_REPLICAS", defaults.opensearch_replicas
            ),
            opensearch_retention_days=_integer(
                environ, "OPENSEARCH_RETENTION_DAYS", defaults.opensearch_retention_days
            ),
        )


def _integer(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise DeploymentSettingsError(f"{name}={value!r} must be a whole number") from None


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise DeploymentSettingsError(f"{name}={value!r} must be a number") from None


def _boolean(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise DeploymentSettingsError(f"{name}={value!r} must be true or false")
