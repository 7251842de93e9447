"""Deployment settings that shape the definitions themselves, read once when they load.

Secrets and connection details stay in resources as `dg.EnvVar`s, resolved at run time. What
lives here cannot: the fetch cadence and settle delay become automation conditions, the
authentication method decides which resource fields exist, and the partition start shapes every
partitioned asset. All of it is non-secret, and the same in the code server and in every run
(terraform/ecs.tf sets it on both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from okta_pipeline.defs.partition_horizon import (
    MAX_PARTITIONS,
    MAX_SPAN,
    OKTA_RETENTION,
    PARTITION_FORMAT,
    default_partitions_start,
    earliest_allowed_start,
    fetchable_from,
    partition_count,
)
from okta_pipeline.lib.sinks.cloudtrail_lake import Channel

FETCH_INTERVALS = (5, 10, 15, 20, 30, 60)
PARTITIONS_START_VARIABLE = "OKTA_PIPELINE_PARTITIONS_START"


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
    opensearch_ca_certs: str | None = None
    """A CA bundle for a cluster whose certificate a private CA signed (OPENSEARCH_CA_CERTS)."""
    jira_credentials: Literal["none", "token", "secret"] = "none"
    """How Jira is reached: not at all, JIRA_EMAIL with JIRA_API_TOKEN, or JIRA_SECRET_ID."""
    jira_issue_type: str = "Task"
    slack_destination: Literal["none", "bot", "webhook"] = "none"
    dashboards_link: bool = False
    alert_suppression_hours: float = 24.0
    receiver_url: str | None = None
    """The alert receiver that monitors post new alerts to (OKTA_PIPELINE_RECEIVER_URL)."""
    cloudtrail_root: str | None = None
    """The CloudTrail trail's s3://bucket[/prefix] (OKTA_PIPELINE_CLOUDTRAIL_ROOT); None: no
    CloudTrail assets, and no cross-source detections."""
    log_stream_queue_url: str | None = None
    """The SQS queue Okta's log stream reaches through EventBridge
    (OKTA_PIPELINE_LOG_STREAM_QUEUE_URL); None: polling only."""
    log_stream_dead_letter_queue_url: str | None = None
    """That queue's dead-letter queue (OKTA_PIPELINE_LOG_STREAM_DLQ_URL)."""
    log_stream_endpoint_url: str | None = None
    """A local stand-in's endpoint for that queue (OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL)."""
    cloudtrail_lake_channel_arn: str | None = None
    """The CloudTrail Lake channel Okta's events are shipped to
    (OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN); None: no CloudTrail Lake sink."""
    cloudtrail_lake_endpoint_url: str | None = None
    """A local stand-in's endpoint for that channel (OKTA_PIPELINE_CLOUDTRAIL_LAKE_ENDPOINT_URL)."""
    openobserve_credentials: Literal["none", "password", "secret"] = "none"
    """How OpenObserve is reached: not at all (OPENOBSERVE_URL unset), OPENOBSERVE_USER with
    OPENOBSERVE_PASSWORD, or OPENOBSERVE_SECRET_ID."""
    openobserve_organization: str = "default"
    openobserve_stream: str = "okta"
    openobserve_ingest_allowed_upto_hours: float = 5.0
    """The OpenObserve server's ZO_INGEST_ALLOWED_UPTO (OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS)."""
    partitions_start: datetime | None = None
    """The first five-minute window (OKTA_PIPELINE_PARTITIONS_START); None: the default,
    `default_partitions_start`. The partitions are built from it when `partitions.py` is
    imported, since the asset modules bind them there."""

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
        if self.alert_suppression_hours < 0:
            raise DeploymentSettingsError("OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS must be 0 or more")
        if self.cloudtrail_root and not self.cloudtrail_root.startswith("s3://"):
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_CLOUDTRAIL_ROOT={self.cloudtrail_root!r} must be the trail "
                "bucket as s3://<bucket> or s3://<bucket>/<prefix> (what AWSLogs/ lies under)"
            )
        if self.cloudtrail_lake_channel_arn:
            try:
                Channel.parse(self.cloudtrail_lake_channel_arn)
            except ValueError as error:
                raise DeploymentSettingsError(
                    f"OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN: {error}"
                ) from None
        if self.openobserve_ingest_allowed_upto_hours <= 0:
            raise DeploymentSettingsError(
                "OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS must be more than 0 (the OpenObserve "
                "server's ZO_INGEST_ALLOWED_UPTO, 5 by default)"
            )
        if self.receiver_url and not self.receiver_url.startswith(("https://", "http://")):
            raise DeploymentSettingsError(
                f"OKTA_PIPELINE_RECEIVER_URL={self.receiver_url!r} must be the receiver's full "
                "URL, e.g. https://alerts.example.com/alerts"
            )

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], now: datetime | None = None
    ) -> DeploymentSettings:
        """Settings from environment variables; unset ones keep the local defaults. `now`
        (the current time by default) is what the partition start is checked against."""
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
            jira_credentials=_jira_credentials(environ),
            jira_issue_type=environ.get("JIRA_ISSUE_TYPE", "").strip() or defaults.jira_issue_type,
            slack_destination=_slack_destination(environ),
            dashboards_link=bool(environ.get("OPENSEARCH_DASHBOARDS_URL", "").strip()),
            receiver_url=environ.get("OKTA_PIPELINE_RECEIVER_URL", "").strip() or None,
            cloudtrail_root=environ.get("OKTA_PIPELINE_CLOUDTRAIL_ROOT", "").strip() or None,
            opensearch_ca_certs=environ.get("OPENSEARCH_CA_CERTS", "").strip() or None,
            log_stream_queue_url=environ.get("OKTA_PIPELINE_LOG_STREAM_QUEUE_URL", "").strip()
            or None,
            log_stream_dead_letter_queue_url=environ.get(
                "OKTA_PIPELINE_LOG_STREAM_DLQ_URL", ""
            ).strip()
            or None,
            log_stream_endpoint_url=environ.get("OKTA_PIPELINE_LOG_STREAM_ENDPOINT_URL", "").strip()
            or None,
            cloudtrail_lake_channel_arn=environ.get(
                "OKTA_PIPELINE_CLOUDTRAIL_LAKE_CHANNEL_ARN", ""
            ).strip()
            or None,
            openobserve_credentials=_openobserve_credentials(environ),
            openobserve_organization=environ.get("OPENOBSERVE_ORG", "").strip()
            or defaults.openobserve_organization,
            openobserve_stream=environ.get("OPENOBSERVE_STREAM", "").strip()
            or defaults.openobserve_stream,
            openobserve_ingest_allowed_upto_hours=_number(
                environ,
                "OPENOBSERVE_INGEST_ALLOWED_UPTO_HOURS",
                defaults.openobserve_ingest_allowed_upto_hours,
            ),
            cloudtrail_lake_endpoint_url=environ.get(
                "OKTA_PIPELINE_CLOUDTRAIL_LAKE_ENDPOINT_URL", ""
            ).strip()
            or None,
            alert_suppression_hours=_number(
                environ,
                "OKTA_PIPELINE_ALERT_SUPPRESSION_HOURS",
                defaults.alert_suppression_hours,
            ),
            partitions_start=read_partitions_start(environ, now or datetime.now(UTC)),
        )


LIMIT_NOTICE = timedelta(days=30)
"""How long before a configured start reaches `MAX_PARTITIONS` each load warns about it."""
_START_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(-[0-9]{2}:[0-9]{2})?")


def read_partitions_start(environ: Mapping[str, str], now: datetime) -> datetime | None:
    """OKTA_PIPELINE_PARTITIONS_START as a UTC moment checked against `now`; None when unset.

    Refused: another format, a time off the 5-minute grid, the future, and a start that makes
    more than `MAX_PARTITIONS` partitions. An old start is allowed (windows landed before
    may be worth keeping in view): `resolve_partitions_start` warns about it instead.
    """
    value = environ.get(PARTITIONS_START_VARIABLE, "").strip()
    if not value:
        return None
    start = _parse_partitions_start(value)
    default = f"unset it for the default ({default_partitions_start(now):%Y-%m-%d})"
    if start > now:
        raise DeploymentSettingsError(
            f"{PARTITIONS_START_VARIABLE}={value!r} is in the future (it is now "
            f"{now:%Y-%m-%d %H:%M} UTC): the partitions must start at a window that has begun; "
            f"use a past date or {default}"
        )
    count = partition_count(start, now)
    if count > MAX_PARTITIONS:
        raise DeploymentSettingsError(
            f"{PARTITIONS_START_VARIABLE}={value!r} makes {count:,} five-minute partitions per "
            f"asset; Dagster slows down past {MAX_PARTITIONS:,} (about {MAX_SPAN.days} days), "
            f"and Okta keeps only {OKTA_RETENTION.days} days. Set it to "
            f"{earliest_allowed_start(now):%Y-%m-%d} or later, or {default}"
        )
    return start


def _parse_partitions_start(value: str) -> datetime:
    shape = (
        f"{PARTITIONS_START_VARIABLE}={value!r} must be a UTC date YYYY-MM-DD (its midnight) or a "
        "partition key YYYY-MM-DD-HH:MM on a 5-minute boundary, e.g. 2026-09-01 or 2026-09-01-12:05"
    )
    if not _START_SHAPE.fullmatch(value):
        raise DeploymentSettingsError(shape)
    try:
        start = datetime.strptime(value, PARTITION_FORMAT if len(value) > 10 else "%Y-%m-%d")
    except ValueError:
        raise DeploymentSettingsError(f"{shape}: it is not a valid date and time") from None
    if start.minute % 5:
        aligned = start - timedelta(minutes=start.minute % 5)
        raise DeploymentSettingsError(
            f"{PARTITIONS_START_VARIABLE}={value!r} is not on a 5-minute boundary: partitions "
            f"are 5-minute UTC windows; use {aligned.strftime(PARTITION_FORMAT)}"
        )
    return start.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PartitionsStart:
    """Where the five-minute partitions begin, and what the operator should be told about it."""

    start: datetime
    warnings: tuple[str, ...] = ()


def resolve_partitions_start(configured: datetime | None, now: datetime) -> PartitionsStart:
    """The configured start with its warnings, or the default (which needs none: it reaches
    past Okta's retention by less than a month, by design)."""
    if configured is None:
        return PartitionsStart(default_partitions_start(now))
    named = f"{PARTITIONS_START_VARIABLE}={configured.strftime(PARTITION_FORMAT)}"
    warnings = []
    horizon = fetchable_from(now)
    if configured < horizon:
        warnings.append(
            f"{named} is older than Okta's System Log retention ({OKTA_RETENTION.days} days): "
            f"partitions before {horizon:%Y-%m-%d %H:%M} UTC cannot be fetched from Okta "
            "(okta_system_log refuses them), and those never landed stay missing. Windows "
            "landed earlier still load. To hide them, move the start forward or unset it."
        )
    refused_from = configured + MAX_SPAN
    if now > refused_from - LIMIT_NOTICE:
        warnings.append(
            f"{named}: from {refused_from:%Y-%m-%d %H:%M} UTC the partitions exceed "
            f"{MAX_PARTITIONS:,} and the definitions will refuse to load; move the start "
            "forward (or unset it) before then, restarting the code server and runs together"
        )
    return PartitionsStart(configured, tuple(warnings))


def _jira_credentials(environ: Mapping[str, str]) -> Literal["none", "token", "secret"]:
    """How Jira is reached. Only non-secret names decide it: the code server has no secrets,
    and runs read JIRA_EMAIL and JIRA_API_TOKEN (or the secret) when they start."""
    if not environ.get("JIRA_BASE_URL", "").strip():
        return "none"
    if not environ.get("JIRA_PROJECT_KEY", "").strip():
        raise DeploymentSettingsError("JIRA_BASE_URL is set: set JIRA_PROJECT_KEY too")
    return "secret" if environ.get("JIRA_SECRET_ID", "").strip() else "token"


SLACK_DELIVERIES = ("none", "bot", "webhook")


def _slack_destination(environ: Mapping[str, str]) -> Literal["none", "bot", "webhook"]:
    """SLACK_DELIVERY when set (a deployment whose code server has no secrets sets it);
    otherwise whichever of SLACK_BOT_TOKEN and SLACK_WEBHOOK_URL is present."""
    chosen = environ.get("SLACK_DELIVERY", "").strip().lower()
    channel = environ.get("SLACK_CHANNEL", "").strip()
    if not chosen:
        bot = environ.get("SLACK_BOT_TOKEN", "").strip()
        webhook = environ.get("SLACK_WEBHOOK_URL", "").strip()
        if bot and webhook:
            raise DeploymentSettingsError(
                "set SLACK_BOT_TOKEN (with SLACK_CHANNEL) or SLACK_WEBHOOK_URL, not both"
            )
        chosen = "bot" if bot else "webhook" if webhook else "none"
    if chosen not in SLACK_DELIVERIES:
        raise DeploymentSettingsError(
            f"SLACK_DELIVERY={chosen!r}: use {', '.join(SLACK_DELIVERIES)}"
        )
    if chosen == "bot" and not channel:
        raise DeploymentSettingsError("Slack delivery by bot token needs SLACK_CHANNEL")
    return chosen  # type: ignore[return-value]  # checked against SLACK_DELIVERIES


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


def _openobserve_credentials(environ: Mapping[str, str]) -> Literal["none", "password", "secret"]:
    if not environ.get("OPENOBSERVE_URL", "").strip():
        return "none"
    return "secret" if environ.get("OPENOBSERVE_SECRET_ID", "").strip() else "password"
