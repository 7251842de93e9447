"""docs/detections.md, generated from the catalog (a test keeps the file current)."""

from __future__ import annotations

from okta_pipeline.lib.detections.catalog import Catalog
from okta_pipeline.lib.detections.model import Kind, StatefulLogic, ThresholdLogic

HEADER = """# Detections

Generated from the catalog in `okta_pipeline/detections/` by
`okta-pipeline detections docs > docs/detections.md`; a test fails when this file is stale.

Kinds: **single event** rules are Sigma rules compiled by pySigma to OpenSearch queries;
**threshold** rules are Sigma correlations (`event_count`, `value_count`) evaluated as
aggregations over their time span; **stateful** detections are Python that reads the history
it needs. Fields under `okta_pipeline.` are the typed view the loader derives from fields whose
type varies (see the README's mapping section).
"""


def catalog_markdown(catalog: Catalog) -> str:
    counts = {kind: sum(1 for d in catalog if d.kind == kind) for kind in Kind}
    lines = [
        HEADER,
        f"{len(catalog)} detections: {counts[Kind.SINGLE_EVENT]} single event, "
        f"{counts[Kind.THRESHOLD]} threshold, {counts[Kind.STATEFUL]} stateful.",
        "",
        "| id | title | kind | severity | ATT&CK | entity |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for d in catalog:
        attack = ", ".join([*d.tactics, *d.techniques])
        lines.append(
            f"| [`{d.id}`](#{d.id}) | {d.title} | {d.kind.value.replace('_', ' ')} | "
            f"{d.severity.value} | {attack} | {', '.join(f'`{e}`' for e in d.entity)} |"
        )
    for d in catalog:
        lines += ["", f"## {d.id}", "", f"**{d.title}** (version {d.version}, {d.severity.value})"]
        lines += ["", d.description, "", f"- Logic: {_logic(d.logic, d.kind)}"]
        lines.append(f"- Reads: {', '.join(f'`{f}`' for f in d.fields)}")
        lines.append(f"- False positives: {'; '.join(d.false_positives) or 'none known'}")
        lines.append(f"- Response: {d.response}")
        lines.append(f"- Source: `okta_pipeline/detections/{d.source}`")
    return "\n".join(lines) + "\n"


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
