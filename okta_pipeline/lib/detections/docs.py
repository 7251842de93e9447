"""docs/detections.md, generated from the catalog (a test keeps the file current)."""

from __future__ import annotations

from okta_pipeline.lib.detections.catalog import Catalog
from okta_pipeline.lib.detections.model import Detection, Kind, StatefulLogic, ThresholdLogic
from okta_pipeline.lib.detections.noise import NOISE_GOAL, NoiseMeasurement, measured_noise
from okta_pipeline.lib.monitors.compile import pipeline_only_reason

HEADER = """# Detections

Generated from the catalog in `okta_pipeline/detections/` by
`okta-pipeline detections docs > docs/detections.md`; a test fails when this file is stale.

Kinds: **single event** rules are Sigma rules compiled by pySigma to OpenSearch queries;
**threshold** rules are Sigma correlations (`event_count`, `value_count`) evaluated as
aggregations over their time span; **stateful** detections are Python that reads the history
it needs. Fields under `okta_pipeline.` are the typed view the loader derives from fields whose
type varies (see the README's mapping section). **Cross-source** detections (data: Okta and
CloudTrail) read AWS CloudTrail beside Okta, through the identity link from each AWS SAML
session to the Okta user and session behind it (`okta.login`, `aws.session`); they run in the
`okta_aws_detections` asset once CloudTrail is configured.

**Monitors.** `detection_monitors` keeps every single-event and threshold detection in
OpenSearch Alerting as a bucket-level monitor (`okta_pipeline/<id>: <title>`), so analysts can
watch and acknowledge alerts in Dashboards; stateful detections read history a query cannot
express and run in the pipeline only. A test runs each monitor with `_execute` at the end of
every example's windows and checks that it flags exactly the entities of the pipeline's
findings. Where the two differ by design:

- Single-event rules are bucket-level monitors, not query-level or document-level ones: a
  bucket per entity gives one alert per entity, as the pipeline writes one finding per entity
  and window. A missing or empty entity value is `-` in both.
- An event with several targets gives the monitor one bucket (one alert) per target; the
  pipeline writes one finding whose entity lists the targets, comma-separated.
- A threshold monitor's alert stays active while the count over the span stays at the
  threshold, and it fires when the count gets there, which is the window where the pipeline
  writes its finding. Distinct counts are Alerting's `cardinality` (near-exact up to 3,000 values,
  approximate above); the pipeline counts exactly.
- A monitor reads the window that ended its lag ago (10 minutes by default: the settle delay,
  the fetch cadence and the load) and only on the live clock. The pipeline evaluates a window
  as soon as it is loaded, and backfills history; monitors cannot.
"""

NOISE = """**Noise** is each detection's findings per org-day on a simulated org with no attacks, as
the benchmark's noise scenario last measured it (`okta-pipeline bench`, which rewrites
`okta_pipeline/detections/noise.json`): {days} attack-free days of an org at {rate:g} events a
minute, after a week of history for the novelty detections, with the rare benign operations a
real org has (API tokens rotated, a log poller at the rate limit, a lost phone's factors reset,
a push left unanswered, an admin on a new laptop). Every finding there is a false positive; the
goal is at most {goal:g} per detection per org-day. The org is simulated, so the rates are a
floor to compare detections and catch regressions, not a promise for a tenant. Cross-source
detections are not measured: the noise org has no CloudTrail.
"""


def catalog_markdown(catalog: Catalog, noise: NoiseMeasurement | None = None) -> str:
    noise = noise if noise is not None else measured_noise()
    counts = {kind: sum(1 for d in catalog if d.kind == kind) for kind in Kind}
    explained = (
        NOISE.format(days=noise.measured_days, rate=noise.events_per_minute, goal=NOISE_GOAL)
        if noise
        else "**Noise** has not been measured: run `okta-pipeline bench`.\n"
    )
    lines = [
        HEADER,
        explained,
        f"{len(catalog)} detections: {counts[Kind.SINGLE_EVENT]} single event, "
        f"{counts[Kind.THRESHOLD]} threshold, {counts[Kind.STATEFUL]} stateful; "
        f"{sum(1 for d in catalog if pipeline_only_reason(d) is None)} have an Alerting monitor.",
        "",
        "| id | title | kind | data | severity | ATT&CK | entity | monitor | noise/org-day |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in catalog:
        attack = ", ".join([*d.tactics, *d.techniques])
        lines.append(
            f"| [`{d.id}`](#{d.id}) | {d.title} | {d.kind.value.replace('_', ' ')} | "
            f"{_data(d)} | {d.severity.value} | {attack} | "
            f"{', '.join(f'`{e}`' for e in d.entity)} | "
            f"{'pipeline only' if pipeline_only_reason(d) else 'bucket-level'} | "
            f"{noise_text(d, noise)} |"
        )
    for d in catalog:
        lines += ["", f"## {d.id}", "", f"**{d.title}** (version {d.version}, {d.severity.value})"]
        lines += ["", d.description, "", f"- Logic: {_logic(d.logic, d.kind)}"]
        lines.append(f"- Data: {_data(d)}")
        lines.append(f"- Reads: {', '.join(f'`{f}`' for f in d.fields)}")
        lines.append(f"- False positives: {'; '.join(d.false_positives) or 'none known'}")
        lines.append(f"- Response: {d.response}")
        lines.append(f"- Alerting monitor: {_monitor(d)}")
        lines.append(f"- Noise (findings per org-day with no attacks): {noise_text(d, noise)}")
        lines.append(f"- Source: `okta_pipeline/detections/{d.source}`")
    return "\n".join(lines) + "\n"


def noise_text(detection: Detection, noise: NoiseMeasurement | None) -> str:
    rate = noise.rate(detection.id) if noise else None
    if rate is not None:
        return f"{rate:.2f}"
    return "not measured (reads CloudTrail)" if detection.cross_source else "not measured"


def _data(detection: Detection) -> str:
    names = {"okta": "Okta", "cloudtrail": "CloudTrail"}
    return " and ".join(names.get(s, s) for s in detection.sources)


def _monitor(detection: Detection) -> str:
    if pipeline_only_reason(detection):
        return "none, the pipeline only (stateful)"
    return f"bucket-level, `okta_pipeline/{detection.id}`, trigger `{detection.id}.trigger`"


def _logic(logic: object, kind: Kind) -> str:
    if isinstance(logic, ThresholdLogic):
        counted = f"distinct `{logic.distinct_field}`" if logic.distinct_field else "events"
        per = ", ".join(f"`{g}`" for g in logic.group_by)
        minutes = int(logic.span.total_seconds() // 60)
        return (
            f"at least {logic.minimum} {counted} per {per} within {minutes} minutes, "
            f"of `{logic.lucene}`"
        )
    if isinstance(logic, StatefulLogic):
        why = " ".join(logic.why_not_sigma.split())
        return f"Python (`{logic.function_name}`). Not Sigma because: {why}"
    lucene = getattr(logic, "lucene", "")
    return f"`{lucene}`" if kind == Kind.SINGLE_EVENT else ""
