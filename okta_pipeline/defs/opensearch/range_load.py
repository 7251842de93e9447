"""Loading landed windows into daily indices, one code path for every source: skip windows
unchanged since their last clean load, stream the rest through the bulk loader, and record
each window's counts and checks on its own partition."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from opensearchpy import OpenSearch

from okta_pipeline.defs.opensearch.resources import OpenSearchResource
from okta_pipeline.defs.opensearch.window_loads import (
    WindowLoadRecord,
    last_loads,
    unchanged_since_last_load,
)
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.defs.storage.resources import location_metadata
from okta_pipeline.defs.window_results import (
    WindowCheck,
    WindowEvent,
    add_window_metadata,
    materialize_windows,
    tag_run,
    window_check_spec,
)
from okta_pipeline.lib.landing import WINDOW, LandingZone, RecordShape, window_start
from okta_pipeline.lib.opensearch.bulk_loader import (
    RETRIES_EXHAUSTED,
    DeadLetters,
    IndexedSource,
    WindowLoad,
    load_windows,
)
from okta_pipeline.lib.opensearch.index_setup import (
    ensure_index_template,
    indices_with_older_mapping,
)
from okta_pipeline.lib.opensearch.okta_index import daily_indices

PARITY = "count_parity"
REQUIRED_FIELDS = "required_fields"
ALL_INDEXED = "all_events_indexed"


class LoadConfig(dg.Config):
    reload_unchanged_windows: bool = False
    """Send every window of the range again, also those unchanged since they were last loaded
    (after an index was deleted or restored by hand, say)."""


@dataclass(frozen=True)
class LoadTarget:
    """One source's daily indices: what the range load writes to."""

    prefix: str
    source: IndexedSource
    template_name: str
    template: Callable[[str, int, int], dict[str, Any]]
    mapping_version: int
    run_tag: str
    """The domain of the run's totals tag (`okta_pipeline/<run_tag>: indexed=...`)."""

    @property
    def daily_indices(self) -> str:
        return daily_indices(self.prefix)


def load_check_specs(asset: str, shape: RecordShape) -> list[dg.AssetCheckSpec]:
    """The three checks every load carries, per window."""
    noun = shape.noun
    fields = (
        f"a string {shape.id_field}, a parseable {shape.time_field} and a string {shape.type_field}"
    )
    return [
        window_check_spec(
            PARITY,
            asset,
            "Documents plus dead letters equal the items landed for the window",
            blocking=True,
        ),
        window_check_spec(REQUIRED_FIELDS, asset, f"Every {noun} of the window has {fields}"),
        # Not blocking: dead letters must not hold back the window's detections, and records
        # the cluster refused leave documents missing, which count_parity blocks on.
        window_check_spec(
            ALL_INDEXED,
            asset,
            f"Every landed item of the window was indexed: dead letters (items that are not "
            f"{noun}s) warn; {noun}s the cluster kept refusing fail until a re-run loads them",
        ),
    ]


def load_landed_range(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    opensearch: OpenSearchResource,
    zone: LandingZone,
    target: LoadTarget,
) -> Iterator[WindowEvent]:
    """Load the run's windows of `zone` into `target`'s daily indices."""
    window = context.partition_time_window
    start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
    prefix = target.prefix
    client = opensearch.client()
    if ensure_index_template(
        client,
        target.template_name,
        target.template(prefix, opensearch.shards, opensearch.replicas),
    ):
        context.log.info(f"Index template for {prefix}-* created or updated")
    last = end - timedelta(microseconds=1)
    days = range((last.date() - start.date()).days + 1)
    older = indices_with_older_mapping(
        client,
        prefix,
        [target.source.index_name(prefix, start + timedelta(days=n)) for n in days],
        target.mapping_version,
    )
    if older:
        context.log.warning(
            f"{', '.join(older)} were created under an older mapping and keep it: records of "
            "shapes it cannot take are dead-lettered there. To reload such a day, delete its "
            "index and materialize the day's partitions again (see the README's mapping section)."
        )
    moments = windows_between(start, end)
    versions = {moment: zone.window_version(moment) for moment in moments}  # before reading
    previous = (
        {}
        if config.reload_unchanged_windows
        else last_loads(context.instance, context.asset_key, map(partition_key, moments))
    )
    documents_before = _documents_per_window(client, target, start, end) if previous else {}
    skipped = {
        moment: previous[partition_key(moment)]
        for moment in moments
        if unchanged_since_last_load(
            previous.get(partition_key(moment)), versions[moment], documents_before.get(moment, 0)
        )
    }
    if skipped:
        context.log.info(
            f"{len(skipped)} of {len(moments)} windows are unchanged since they were last "
            "loaded, with every document still indexed: not sent again"
        )
    landed = LandedWindows(zone, [m for m in moments if m not in skipped])
    dead_letter_key = run_dead_letter_key(prefix, start, end, context.run.run_id)
    # Spooled locally and stored in the landing zone at the end, even if the load fails.
    with zone.spooled(dead_letter_key) as spool:
        dead_letters = DeadLetters(spool, location=zone.storage.location(dead_letter_key))
        report = load_windows(
            client,
            landed,
            prefix,
            dead_letters,
            chunk_bytes=opensearch.bulk_chunk_bytes,
            sleep=opensearch.wait,
            source=target.source,
        )
    client.indices.refresh(index=target.daily_indices, params={"ignore_unavailable": "true"})
    indexed_counts = _documents_per_window(client, target, start, end)

    records: dict[datetime, WindowLoadRecord] = dict(skipped)
    sent: dict[datetime, dict[str, Any]] = {}
    for moment, load in report.windows.items():
        records[moment] = WindowLoadRecord(
            landed_version=versions[moment],
            raw_events=landed.counts.get(moment, 0),
            documents=indexed_counts.get(moment, 0),
            dead_lettered=load.dead_lettered,
            failed=load.failed,
            field_problems=sum(load.field_problems.values()),
        )
        sent[moment] = {
            "window_indexed": load.indexed,
            "window_unchanged": load.unchanged,
            "window_bytes": load.bytes,
            "window_seconds": load.seconds,
            "dead_letter_file": location_metadata(report.dead_letter_location)
            if load.dead_lettered and report.dead_letter_location
            else None,
        }
    checks: list[WindowCheck] = []
    for moment, record in sorted(records.items()):
        add_window_metadata(
            context,
            partition_key(moment),
            {**record.metadata(), "sent_this_run": moment in sent, **sent.get(moment, {})},
        )
        checks += window_checks(
            partition_key(moment), record, report.windows.get(moment), report.dead_letter_location
        )
    totals = {
        "indexed": sum(w.indexed for w in report.windows.values()),
        "unchanged": sum(w.unchanged for w in report.windows.values()),
        "dead_lettered": report.dead_lettered,
        "failed": report.failed,
        "windows_not_sent_again": len(skipped),
    }
    context.log.info(f"Loaded {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC: {totals}")
    if report.dead_lettered or report.failed:
        context.log.warning(report.summary())
    tag_run(context, target.run_tag, totals)
    yield from materialize_windows(context, checks)


@dataclass(frozen=True)
class CheckWording:
    """How a window's checks name what the destination stored and what a re-run will fix."""

    stored: str = "documents"
    not_taken: str = (
        f"events were {RETRIES_EXHAUSTED}: materialize this window again once the cluster keeps up"
    )
    all_taken_check: str = ALL_INDEXED


def window_checks(
    partition: str,
    record: WindowLoadRecord,
    load: WindowLoad | None,
    dead_letter_file: str | None,
    wording: CheckWording = CheckWording(),
    not_taken: str | None = None,
) -> list[WindowCheck]:
    """The load's three checks on one window; `load` is None for a window not sent again (its
    last load was clean, its file and its documents unchanged since). `not_taken` replaces the
    wording's reason for events not stored (a refused credential, say)."""
    documents = record.documents
    mismatch = documents + record.dead_lettered != record.raw_events
    problems = dict(load.field_problems) if load else {}
    reasons = dict(load.dead_letter_reasons) if load else {}
    not_indexed = []
    if record.dead_lettered:
        where = f" to {dead_letter_file}" if dead_letter_file and load else ""
        because = f" ({', '.join(f'{r}: {n}' for r, n in reasons.items())})" if reasons else ""
        not_indexed.append(f"{record.dead_lettered} items were dead-lettered{where}{because}")
    if record.failed:
        not_indexed.append(f"{record.failed} {not_taken or wording.not_taken}")
    return [
        WindowCheck(
            PARITY,
            partition,
            passed=not mismatch,
            description=f"{documents} {wording.stored} and {record.dead_lettered} dead letters "
            f"for {record.raw_events} landed items"
            + (f": {record.failed} {not_taken}" if not_taken and record.failed else "")
            if mismatch
            else None,
            metadata={
                "landed": record.raw_events,
                wording.stored: documents,
                "dead_lettered": record.dead_lettered,
            },
        ),
        WindowCheck(
            REQUIRED_FIELDS,
            partition,
            passed=record.field_problems == 0,
            description=f"{record.field_problems} events lack a required field"
            if record.field_problems
            else None,
            metadata={"events_missing_fields": record.field_problems, "problems": problems},
        ),
        WindowCheck(
            wording.all_taken_check,
            partition,
            passed=not not_indexed,
            # Dead letters cannot be loaded by a re-run: a warning. Events the cluster
            # refused can: an error (count_parity holds the window back meanwhile).
            severity=dg.AssetCheckSeverity.ERROR if record.failed else dg.AssetCheckSeverity.WARN,
            description="; ".join(not_indexed) or None,
            metadata={
                "dead_lettered": record.dead_lettered,
                "failed": record.failed,
                "reasons": reasons,
            },
        ),
    ]


def partition_key(moment: datetime) -> str:
    return moment.strftime(PARTITION_FORMAT)


def windows_between(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute windows of a run's range [start, end)."""
    return [start + n * WINDOW for n in range(int((end - start) / WINDOW))]


def run_dead_letter_key(folder: str, start: datetime, end: datetime, run_id: str) -> str:
    """Where a run over [start, end) stores what it dead-lettered, in the landing zone."""
    return f"_dead_letter/{folder}/{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}-run-{run_id[:8]}.jsonl.gz"


class LandedWindows:
    """The landed lines of `moments`, window by window, streamed (a load holds a chunk or two,
    never a whole window); `counts` has how many lines each window had once it was read."""

    def __init__(self, zone: LandingZone, moments: list[datetime]) -> None:
        self.zone = zone
        self.moments = moments
        self.counts: dict[datetime, int] = {}

    def __iter__(self) -> Iterator[tuple[datetime, Iterator[str]]]:
        for moment in self.moments:
            yield moment, self._counted(moment)

    def _counted(self, moment: datetime) -> Iterator[str]:
        self.counts[moment] = 0
        for line in self.zone.iter_window_lines(moment):
            self.counts[moment] += 1
            yield line


def _documents_per_window(
    client: OpenSearch, target: LoadTarget, start: datetime, end: datetime
) -> dict[datetime, int]:
    time_field = target.source.shape.time_field
    response: dict[str, Any] = client.search(
        index=target.daily_indices,
        body={
            "size": 0,
            "query": {"range": {time_field: {"gte": start.isoformat(), "lt": end.isoformat()}}},
            "aggs": {"windows": {"date_histogram": {"field": time_field, "fixed_interval": "5m"}}},
        },
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    buckets = response.get("aggregations", {}).get("windows", {}).get("buckets", [])
    return {
        window_start(datetime.fromtimestamp(b["key"] / 1000, UTC)): int(b["doc_count"])
        for b in buckets
        if b["doc_count"]
    }
