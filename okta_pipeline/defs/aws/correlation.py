"""`aws_identity_links` (each AWS SAML session linked to the Okta user and session behind it)
and `okta_aws_detections` (the catalog's cross-source detections), per 5-minute window."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta

import dagster as dg
from pydantic import Field

from okta_pipeline.defs.asset_attributes import HOLDS_PERSONAL_DATA, OWNERS
from okta_pipeline.defs.aws.assets import opensearch_cloudtrail_events
from okta_pipeline.defs.detections.assets import detect_windows, detection_check_specs
from okta_pipeline.defs.detections.resources import DetectionsResource
from okta_pipeline.defs.okta.assets import DAY_OF_WINDOWS
from okta_pipeline.defs.okta.automation import follow_upstream
from okta_pipeline.defs.opensearch.assets import opensearch_okta_logs
from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.partitions import PARTITION_FORMAT, five_minute_partitions
from okta_pipeline.defs.window_results import WindowEvent, add_window_metadata, tag_run
from okta_pipeline.lib.cloudtrail.index import daily_indices as cloudtrail_indices
from okta_pipeline.lib.correlation.identity_link import (
    LinkRules,
    link_sessions,
    sessions_indices,
    write_links,
)
from okta_pipeline.lib.detections.catalog import catalog_digest
from okta_pipeline.lib.detections.search import EventSearch, cloudtrail_search
from okta_pipeline.lib.opensearch.okta_index import daily_indices
from okta_pipeline.lib.windows import window_start, windows_between

LINK_VERSION = "1"


class IdentityLinkResource(dg.ConfigurableResource):
    """How AWS SAML sessions name their Okta users (the defaults fit Okta's AWS Account
    Federation app, which sends the Okta login as the role session name)."""

    session_name_pattern: str = Field(
        default=r"(?P<login>.+)",
        description="A regex over the role session name whose `login` group is the Okta login",
    )
    login_domain: str = Field(
        default="", description="Appended as @<domain> when the session name has no domain"
    )
    aws_app_names: list[str] = Field(
        default_factory=lambda: ["amazon_aws"],
        description="Okta app names of the AWS federation apps (/app/<name>/ in the SSO URI)",
    )
    sso_lead_seconds: int = Field(
        default=300, ge=10, description="How long an SSO may precede its AssumeRoleWithSAML"
    )

    def rules(self) -> LinkRules:
        return LinkRules(
            session_name_pattern=self.session_name_pattern,
            login_domain=self.login_domain,
            aws_app_names=tuple(self.aws_app_names),
            sso_lead=timedelta(seconds=self.sso_lead_seconds),
        )


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[opensearch_okta_logs, opensearch_cloudtrail_events],
    pool="opensearch",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=follow_upstream(after_blocking_checks=True),
    group_name="aws",
    kinds={"opensearch", "python"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    code_version=LINK_VERSION,
)
def aws_identity_links(
    context: dg.AssetExecutionContext,
    opensearch: OpenSearchResource,
    identity_link: IdentityLinkResource,
) -> dg.MaterializeResult:
    """A row is one AWS session federated through SAML (an AssumeRoleWithSAML), with the Okta
    user and Okta session that produced it where the evidence allows: the role session name
    matched to a login, the user's SSO into the AWS app moments before, the same source IP.
    Documents of `okta-aws-sessions-YYYY.MM.DD`, `_id` = the AssumeRoleWithSAML's eventID, so a
    re-run (the Okta side arrived late) replaces the link."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    client = opensearch.client()
    okta = EventSearch(client, daily_indices(opensearch.index_prefix))
    trail = cloudtrail_search(client, cloudtrail_indices(opensearch.cloudtrail_prefix))
    links = link_sessions(okta, trail, start, end, identity_link.rules())
    write_links(client, opensearch.sessions_prefix, links, opensearch.replicas)
    client.indices.refresh(
        index=sessions_indices(opensearch.sessions_prefix), params={"ignore_unavailable": "true"}
    )
    by_window: dict[str, Counter[str]] = {}
    for link in links:
        key = window_start(link.assumed_at).strftime(PARTITION_FORMAT)
        by_window.setdefault(key, Counter())[link.confidence] += 1
    for moment in windows_between(start, end):
        counts = by_window.get(moment.strftime(PARTITION_FORMAT), Counter())
        add_window_metadata(
            context,
            moment.strftime(PARTITION_FORMAT),
            {
                "dagster/partition_row_count": sum(counts.values()),
                "linked_same_ip": counts["high"],
                "linked_other_ip": counts["medium"],
                "not_linked": counts["none"],
            },
        )
    unlinked = [link for link in links if not link.linked]
    context.log.info(
        f"Linked {len(links) - len(unlinked)} of {len(links)} AWS SAML sessions to Okta"
        + (
            f"; not linked: {', '.join(sorted({str(u.login or u.session_name) for u in unlinked}))}"
            if unlinked
            else ""
        )
    )
    tag_run(
        context,
        "identity_link",
        {"sessions": len(links), "linked": len(links) - len(unlinked), "not_linked": len(unlinked)},
    )
    return dg.MaterializeResult()


@dg.asset(
    partitions_def=five_minute_partitions,
    deps=[aws_identity_links, opensearch_okta_logs, opensearch_cloudtrail_events],
    pool="opensearch",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=DAY_OF_WINDOWS),
    automation_condition=follow_upstream(after_blocking_checks=True),
    code_version=catalog_digest(),
    group_name="detections",
    kinds={"opensearch", "python"},
    owners=OWNERS,
    tags=HOLDS_PERSONAL_DATA,
    check_specs=detection_check_specs("okta_aws_detections"),
)
def okta_aws_detections(
    context: dg.AssetExecutionContext,
    opensearch: OpenSearchResource,
    detections: DetectionsResource,
) -> Iterator[WindowEvent]:
    """A row is one finding of a cross-source detection: Okta and AWS CloudTrail read together
    through the identity link (a risky Okta sign-in followed by AWS persistence, AWS activity
    after Okta suspended the user, SAML federation with no Okta SSO, console sign-ins that
    bypass Okta), with evidence on both sides; documents of `okta-findings-YYYY.MM.DD`, beside
    the Okta detections' findings. Ids are deterministic: re-runs and backfills converge."""
    chosen = tuple(d for d in detections.selected() if d.cross_source)
    yield from detect_windows(
        context,
        opensearch,
        chosen,
        "cross_source",
        with_cloudtrail=True,
        exceptions=detections.exceptions_by_detection(),
    )
