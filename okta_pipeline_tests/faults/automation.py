"""The project's automation conditions, evaluated at chosen times with their requests launched
in-process, as the daemon would launch them: what the fault tests drive instead of a daemon."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.lib.landing import WINDOW
from okta_pipeline_tests.okta.helpers import range_tags

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def contiguous(keys: Sequence[str]) -> Iterator[tuple[datetime, datetime]]:
    """Runs of consecutive partition keys, as (first, last) window starts."""
    moments = sorted(datetime.strptime(key, PARTITION_FORMAT) for key in keys)
    if not moments:
        return
    first = previous = moments[0]
    for moment in moments[1:]:
        if moment - previous != WINDOW:
            yield first, previous
            first = moment
        previous = moment
    yield first, previous


class Automation:
    def __init__(
        self,
        defs: dg.Definitions,
        assets: Sequence[dg.AssetsDefinition],
        resources: Mapping[str, Any],
        instance: dg.DagsterInstance,
    ) -> None:
        self.defs = defs
        self.assets = assets
        self.resources = dict(resources)
        self.instance = instance
        self.cursor: Any = None
        self.requested: dict[str, set[str]] = {a.key.to_user_string(): set() for a in assets}
        self.failed_runs = 0

    def tick(self, moment: datetime) -> dict[str, set[str]]:
        """Evaluate at `moment` and launch what is requested, again 30 s later until nothing
        is; the partitions launched, by asset."""
        launched: dict[str, set[str]] = {name: set() for name in self.requested}
        while True:
            result = dg.evaluate_automation_conditions(
                defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=moment
            )
            self.cursor = result.cursor
            asked = {
                a: sorted(str(k) for k in result.get_requested_partitions(a.key))
                for a in self.assets
            }
            if not any(asked.values()):
                return launched
            for asset, keys in asked.items():
                launched[asset.key.to_user_string()].update(keys)
                self.requested[asset.key.to_user_string()].update(keys)
                for first, last in contiguous(keys):
                    self.run(asset, first, last)
            moment += timedelta(seconds=30)

    def run(self, asset: dg.AssetsDefinition, first: datetime, last: datetime) -> bool:
        """Materialize `asset` for the windows from `first` to `last` in one run."""
        result = dg.materialize(
            [asset],
            instance=self.instance,
            resources=self.resources,
            tags=range_tags(first, last + WINDOW),
            run_config=QUIET,
            raise_on_error=False,
        )
        self.failed_runs += 0 if result.success else 1
        return result.success
