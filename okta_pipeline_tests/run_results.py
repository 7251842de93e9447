"""Reading a run's results back: each window's metadata and check results, and the run's
totals (which the assets put in the run's tags)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from okta_pipeline.defs.window_results import WindowCheck, latest_materializations, run_totals


def materialize_with_totals(
    assets: Sequence[Any], **kwargs: Any
) -> tuple[dg.ExecuteInProcessResult, dict[str, str]]:
    """`dg.materialize`, and the totals the run recorded on itself."""
    instance = kwargs.pop("instance", None) or dg.DagsterInstance.ephemeral()
    result = dg.materialize(assets, instance=instance, **kwargs)
    return result, run_totals(instance, result.run_id)


def window_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dict[str, Any]]:
    """Each partition's materialization metadata, by partition key."""
    return {
        str(m.partition): {key: value.value for key, value in m.metadata.items()}
        for m in result.asset_materializations_for_node(asset)
    }


@dataclass(frozen=True)
class RangeCheck:
    """One check's results over the windows of a run."""

    by_window: dict[str | None, Any]

    @property
    def failed(self) -> dict[str | None, Any]:
        return {key: e for key, e in self.by_window.items() if not e.passed}

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def severity(self) -> dg.AssetCheckSeverity:
        worst = self.failed or self.by_window
        severities = {e.severity for e in worst.values()}
        return (
            dg.AssetCheckSeverity.ERROR
            if dg.AssetCheckSeverity.ERROR in severities
            else dg.AssetCheckSeverity.WARN
        )

    @property
    def description(self) -> str:
        return "; ".join(e.description or "" for e in self.failed.values())

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata of the first failed window (of the first window when none failed)."""
        first = next(iter((self.failed or self.by_window).values()))
        return dict(first.metadata)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, RangeCheck]:
    """Every check evaluated in the run, by name."""
    found: dict[str, dict[str | None, Any]] = {}
    for evaluation in result.get_asset_check_evaluations():
        found.setdefault(evaluation.check_name, {})[evaluation.partition] = evaluation
    return {name: RangeCheck(dict(sorted(e.items(), key=str))) for name, e in found.items()}


def report_window_check(
    instance: dg.DagsterInstance,
    asset: str,
    check: str,
    partition: str,
    passed: bool,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> None:
    """Record a check's result on a window's latest materialization, as the assets do."""
    key = dg.AssetKey(asset)
    target = latest_materializations(instance, key, [partition])[partition]
    result = WindowCheck(check, partition, passed, severity)
    instance.report_runless_asset_event(result.evaluation(key, blocking=True, target=target))
