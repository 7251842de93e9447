"""What a run over a range of windows reports: each window's own metadata and check results
on that window's partition, and the run's totals on the run.

One `MaterializeResult` stamps its metadata and check results on the whole range, so a range
run's totals would be plotted as every window's value, and a check that failed on one window of
a backfill would turn green as soon as a later run passed on another. So the assets attach
metadata per partition, evaluate their checks per partition (checks declared with
`window_check_spec`), and put run-level totals in the run's tags.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

# Dagster 1.13's AssetCheckResult names no partition in a range run; an AssetCheckEvaluation
# can, and it must name the materialization it judged for the check to count as current.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluation,
    AssetCheckEvaluationTargetMaterializationData,
)

from okta_pipeline.defs.partitions import five_minute_partitions

RUN_TAG_PREFIX = "okta_pipeline/"

WindowEvent = dg.MaterializeResult | AssetCheckEvaluation | dg.Output


def window_check_spec(
    name: str, asset: str, description: str, blocking: bool = False
) -> dg.AssetCheckSpec:
    """A check evaluated per 5-minute window: its result stays on its window's partition."""
    with warnings.catch_warnings():
        # Partitioned checks are a preview in Dagster 1.13 (warned at every import).
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name,
            asset=asset,
            description=description,
            blocking=blocking,
            partitions_def=five_minute_partitions,
        )


@dataclass(frozen=True)
class WindowCheck:
    """One check's result on one window."""

    name: str
    partition: str
    passed: bool
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def evaluation(
        self, asset_key: dg.AssetKey, blocking: bool, target: dg.EventLogRecord | None
    ) -> AssetCheckEvaluation:
        """This result as Dagster records it: on the window's partition, judging `target`, the
        window's latest materialization (without one, the result does not count as current)."""
        return AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=self.name,
            passed=self.passed,
            severity=self.severity,
            description=self.description,
            metadata=without_empty(self.metadata),
            blocking=blocking,
            partition=self.partition,
            target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
                run_id=target.run_id, storage_id=target.storage_id, timestamp=target.timestamp
            )
            if target
            else None,
        )


def without_empty(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The entries that say something: no None, empty strings, lists or mappings (zeros stay,
    they are values the plots need)."""
    return {
        key: value
        for key, value in metadata.items()
        if value is not None and not (isinstance(value, str | list | tuple | dict) and not value)
    }


def add_window_metadata(
    context: dg.AssetExecutionContext, partition: str, metadata: Mapping[str, Any]
) -> None:
    context.add_asset_metadata(without_empty(metadata), partition_key=partition)


def tag_run(context: dg.AssetExecutionContext, domain: str, totals: Mapping[str, Any]) -> None:
    """Put an asset's totals for the run on the run, as one tag (`okta_pipeline/okta:
    events_fetched=3398 requests=4 ...`): a line a person reads in the run's header, and one
    `run_totals` reads back."""
    context.instance.add_run_tags(
        context.run.run_id,
        {f"{RUN_TAG_PREFIX}{domain}": " ".join(f"{key}={value}" for key, value in totals.items())},
    )


def run_totals(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """The totals `tag_run` put on a run, as `<domain>_<key>`: `okta_requests`, ..."""
    run = instance.get_run_by_id(run_id)
    totals: dict[str, str] = {}
    for tag, line in (run.tags if run else {}).items():
        if tag.startswith(RUN_TAG_PREFIX):
            domain = tag.removeprefix(RUN_TAG_PREFIX)
            for pair in line.split():
                key, _, value = pair.partition("=")
                totals[f"{domain}_{key}"] = value
    return totals


def materialize_windows(
    context: dg.AssetExecutionContext, checks: Iterable[WindowCheck]
) -> Iterator[WindowEvent]:
    """Materialize every window of the run (with the metadata added per partition), then
    report each check on the window it judged. A failed blocking check fails the step after
    the materializations are stored, as Dagster's own check results do."""
    yield dg.MaterializeResult()
    checks = list(checks)
    targets = latest_materializations(
        context.instance, context.asset_key, {c.partition for c in checks}
    )
    specs = {spec.name: spec for spec in context.assets_def.check_specs}
    for result in checks:
        yield result.evaluation(
            context.asset_key, specs[result.name].blocking, targets.get(result.partition)
        )
    for spec in specs.values():  # each check's output, which Dagster requires of the step
        yield dg.Output(
            None, output_name=context.assets_def.get_output_name_for_asset_check_key(spec.key)
        )


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Iterable[str]
) -> dict[str, dg.EventLogRecord]:
    """The latest materialization record of each of `partitions` that has one."""
    latest = instance.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, partitions=set(partitions)
    )
    if not latest:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(latest.values())),
        limit=len(latest),
    ).records
    return {r.partition_key: r for r in records if r.partition_key is not None}
