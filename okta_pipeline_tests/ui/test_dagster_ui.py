"""The Dagster UI in headless Chromium, after `okta-pipeline demo`: what a user must see there.

The demo runs once over two fixed hours (24 windows), in an instance, a landing zone and indices
of the module's own; `okta-pipeline ui` then serves that instance. With OKTA_PIPELINE_SCREENSHOTS
set (`make screenshots`: docs/images), each test's screenshot goes there.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import OpenSearch
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from okta_pipeline.cli.demo_alerts import CONFIGURING_VARIABLES
from okta_pipeline.cli.demo_command import beside_index_prefix
from okta_pipeline.defs.aws.freshness import cloudtrail_freshness_schedule
from okta_pipeline.defs.okta.automation import automation_sensor
from okta_pipeline.defs.okta.log_stream import log_stream_health_schedule, log_stream_queue_sensor
from okta_pipeline.defs.opensearch.freshness import freshness_schedule
from okta_pipeline.defs.partitions import PARTITION_FORMAT
from okta_pipeline.lib.monitors.sync import MonitorSync
from okta_pipeline.lib.opensearch.index_setup import drop_managed_prefix, drop_prefix
from okta_pipeline_tests.okta.helpers import weekday_noon_range
from okta_pipeline_tests.ui.browser import Page, exact_text, start_chromium, text_starting
from okta_pipeline_tests.ui.dagster_ui import (
    PROJECT,
    RunningUi,
    run_demo,
    running_ui,
    stop_instigators,
)

SCREENSHOTS = "OKTA_PIPELINE_SCREENSHOTS"
ASSETS = (
    "okta_system_log",
    "opensearch_okta_logs",
    "okta_index_retention",
    "okta_detections",
    "detection_monitors",
    "alert_deliveries",
    "cloudtrail_events",
    "opensearch_cloudtrail_events",
    "aws_identity_links",
    "okta_aws_detections",
)
LOADING = exact_text("Loading...")  # an asset's status in the graph, until it has it
LOAD_CHECKS = ("count_parity", "required_fields", "all_events_indexed")
WINDOW = timedelta(minutes=5)
WINDOWS = 24
BACKFILL_WINDOWS = 3
BACKFILL_SECONDS = 180
# Where the UI's code server would find an Okta org of the environment's: the simulated one.
OKTA_VARIABLES = ("OKTA_BASE_URL", "OKTA_API_TOKEN", "OKTA_AUTH_METHOD")


@dataclass(frozen=True)
class DemoInUi:
    ui: RunningUi
    start: datetime
    landed_events: int
    """The demo's `landing.events`: the events landed in its windows."""

    def window_keys(self) -> list[str]:
        return [(self.start + i * WINDOW).strftime(PARTITION_FORMAT) for i in range(WINDOWS)]

    def backfill_keys(self) -> list[str]:
        """The windows just before the demo's, which it never fetched."""
        first = self.start - BACKFILL_WINDOWS * WINDOW
        return [(first + i * WINDOW).strftime(PARTITION_FORMAT) for i in range(BACKFILL_WINDOWS)]

    def row_counts(self, keys: list[str]) -> dict[str, int]:
        """Each window's `dagster/partition_row_count` on okta_system_log's latest
        materialization of it, through the webserver's GraphQL API."""
        data = self.ui.graphql(ROW_COUNTS, keys=keys)
        counts: dict[str, int] = {}
        for event in data["assetNodeOrError"]["assetMaterializations"]:  # newest first
            for entry in event["metadataEntries"]:
                if entry["label"] == "dagster/partition_row_count":
                    counts.setdefault(event["partition"], entry["intValue"])
        return counts


ROW_COUNTS = """
query RowCounts($keys: [String!]) {
  assetNodeOrError(assetKey: {path: ["okta_system_log"]}) {
    ... on AssetNode {
      assetMaterializations(partitions: $keys) {
        partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
}
"""
RUNS = """
query Runs {
  runsOrError { ... on Runs { results { runId jobName tags { key value } } } }
}
"""


def count_in(label: str) -> int:
    """The number in a label such as `Materialized (1,024)`."""
    found = re.search(r"\(([\d,]+)\)", label)
    return int(found.group(1).replace(",", "")) if found else -1


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def demo_in_ui(
    opensearch: OpenSearch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoInUi]:
    """The demo over two fixed hours, then `okta-pipeline ui` on its instance.

    The UI's code location writes to the default indices (okta-logs-*), not the demo's test
    prefixes: so nothing runs there on its own (the automation sensor, the log stream's
    sensor and the freshness and stream health schedules are stopped before the daemon
    starts), and the only run the tests launch, okta_system_log's backfill, writes to the
    landing zone alone."""
    tag = uuid.uuid4().hex[:8]
    logs, findings, ledger = f"test-ui-{tag}", f"test-ui-findings-{tag}", f"test-ui-ledger-{tag}"
    # Outside pytest's directories, whose path would show in the screenshots' landed files.
    root = Path(tempfile.mkdtemp(prefix="okta-pipeline-ui-"))
    home, landing = root / "dagster_home", root / "landing"
    home.mkdir()
    shutil.copyfile(PROJECT / "dagster.yaml", home / "dagster.yaml")  # as in .dagster_home
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in (*CONFIGURING_VARIABLES, *OKTA_VARIABLES)
    }
    env.update(DAGSTER_HOME=str(home), OKTA_PIPELINE_LANDING_ROOT=str(landing))
    start, end = weekday_noon_range(timedelta(hours=2))
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            # With CloudTrail and a log stream named, the definitions list their sensor and
            # schedules too.
            stopped = pool.submit(
                stop_instigators,
                {
                    **env,
                    "OKTA_PIPELINE_CLOUDTRAIL_ROOT": "s3://stopped-before-the-ui",
                    "OKTA_PIPELINE_LOG_STREAM_QUEUE_URL": "http://127.0.0.1:9/stopped-before",
                },
                [automation_sensor.name, log_stream_queue_sensor.name],
                [
                    freshness_schedule.name,
                    cloudtrail_freshness_schedule.name,
                    log_stream_health_schedule.name,
                ],
            )
            summary = run_demo(
                env,
                *("--start", start.isoformat(), "--end", end.isoformat()),
                *("--index-prefix", logs, "--findings-prefix", findings, "--ledger-index", ledger),
                *("--landing", str(landing)),
            )
            stopped.result()
        assert summary["window"]["partitions"] == WINDOWS
        log = tmp_path_factory.mktemp("dagster_ui") / "okta-pipeline-ui.log"
        with running_ui(env, log) as ui:
            yield DemoInUi(ui, start, int(summary["landing"]["events"]))
    finally:
        MonitorSync(opensearch, logs).sync([])  # the demo's monitors belong to its prefix
        opensearch.indices.delete(index=ledger, params={"ignore_unavailable": "true"})
        drop_prefix(opensearch, logs)
        opensearch.indices.delete(index=f"{findings}-*", params={"ignore_unavailable": "true"})
        opensearch.indices.delete_index_template(name=findings, params={"ignore": 404})
        for beside in beside_index_prefix(logs):
            drop_managed_prefix(opensearch, beside)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def page(browser: WebDriver, demo_in_ui: DemoInUi, tmp_path: Path) -> Page:
    screenshots = os.environ.get(SCREENSHOTS, "").strip()
    page = Page(
        browser,
        demo_in_ui.ui.url,
        screenshots=Path(screenshots) if screenshots else tmp_path,
        artifacts=tmp_path,
        logs=demo_in_ui.ui.log,
    )
    # A fresh browser profile would open on Dagster's "Join the community" prompt, over the
    # page: recorded as seen, as after its Skip button.
    page.open("/server_info")
    browser.execute_script("window.localStorage.setItem('communityNux', '\"1\"')")
    return page


def test_the_lineage_shows_every_asset(page: Page) -> None:
    page.open("/asset-groups")
    page.wait_text("^Global asset lineage$")
    # The graph takes the room the navigation leaves it, and shrinks names that do not fit.
    page.click("//button[normalize-space()='Hide navigation']", "Hide navigation")
    # It opens with a box per group: "Expand all groups" in its settings menu (beside its zoom
    # buttons) shows the assets. The page fits the graph to the window when it loads, and
    # keeps the choice.
    page.click(
        "//button[.//*[@aria-label='zoom_out']]/following::button[.//*[@aria-label='settings']]",
        "the graph's settings button",
    )
    page.click(exact_text("Expand all groups"), "Expand all groups")
    page.driver.refresh()
    for name in ASSETS:
        page.visible(exact_text(name), f"{name}, by its whole name, in the lineage graph")

    def statuses_loaded(driver: WebDriver) -> bool:
        return not any(e.is_displayed() for e in driver.find_elements(By.XPATH, LOADING))

    page.wait("the assets' statuses in the graph", statuses_loaded)
    page.screenshot("dagster-ui-asset-graph")


def test_every_window_is_a_partition_with_its_row_count(page: Page, demo_in_ui: DemoInUi) -> None:
    keys = demo_in_ui.window_keys()
    counts = demo_in_ui.row_counts(keys)
    page.check(
        sorted(counts) == keys,
        f"windows without a row count on okta_system_log: {sorted(set(keys) - set(counts))}",
    )
    page.check(
        sum(counts.values()) == demo_in_ui.landed_events,
        f"the windows' row counts sum to {sum(counts.values())}, the demo landed "
        f"{demo_in_ui.landed_events} events",
    )

    page.open("/assets/okta_system_log?view=partitions")
    materialized = page.visible(text_starting("Materialized ("), "the materialized count").text
    page.check(
        count_in(materialized) >= WINDOWS,
        f"okta_system_log shows {materialized!r}: not {WINDOWS} materialized partitions or more",
    )
    # The materialized ones only, newest first: the demo's last window heads the list.
    page.click("//label[starts-with(normalize-space(), 'Missing (')]", "the Missing filter")
    last = keys[-1]
    page.click(f"//span[normalize-space(text())='{last}']", f"the partition {last}")
    page.wait_text(rf"^{re.escape(last)}\nMaterialized$")
    count = counts[last]
    page.wait_text(rf"^dagster/partition_row_count\n({count}|{count:,})$")
    page.screenshot("dagster-ui-partitions")


def test_the_loads_checks_pass_for_every_window(page: Page) -> None:
    page.open("/assets/opensearch_okta_logs?view=checks")
    page.wait_text(r"^Checks \(\d+\)$")
    for name in LOAD_CHECKS:
        page.wait_text(rf"^{name}\nSucceeded$")
    page.click(exact_text("count_parity"), "the count_parity check")
    page.wait(
        "count_parity's details",
        lambda driver: "checkDetail=count_parity" in driver.current_url,
    )
    page.wait_text(r"^Evaluation result\nPassed$")
    page.screenshot("dagster-ui-checks")
    # Evaluated per window: each of the demo's windows has its own result.
    page.click("//button[normalize-space()='Partitions']", "count_parity's Partitions tab")
    # The tab lists every partition since the start (tens of thousands): slow to render on a
    # loaded machine.
    passed = page.visible(
        text_starting("Passed ("), "count_parity's passed partitions", timeout=120
    ).text
    page.check(
        count_in(passed) >= WINDOWS,
        f"count_parity shows {passed!r}: not passed on the demo's {WINDOWS} windows",
    )
    page.visible(exact_text("Failed (0)"), "count_parity failed on no partition")


def test_a_backfill_launched_from_the_ui_completes(page: Page, demo_in_ui: DemoInUi) -> None:
    keys = demo_in_ui.backfill_keys()
    page.check(demo_in_ui.row_counts(keys) == {}, f"{keys} were materialized before the backfill")

    page.open("/assets/okta_system_log?view=partitions")
    page.visible(text_starting("Materialized ("), "the materialized count")
    page.click("//button[normalize-space()='Materialize…']", "Materialize…")
    page.wait_text("^Launch runs to materialize okta_system_log$")
    selection = page.visible(
        "//*[@role='dialog']//input[@type='text']", "the dialog's partition selection"
    )
    # The dialog reads the typed range when the field loses the focus.
    selection.send_keys(f"[{keys[0]}...{keys[-1]}]", Keys.TAB)
    page.wait_text(rf"^{BACKFILL_WINDOWS} partitions$")
    page.click(
        "//*[@role='dialog']//button[normalize-space()='Launch backfill']", "Launch backfill"
    )
    backfill = page.wait_text(r"^Created backfill (\w+)$").group(1)

    page.open("/runs?view=backfills")
    page.click(exact_text(backfill), f"the backfill {backfill} in the Backfills list")
    # The daemon of `dagster dev` launches its run, then marks it done; the page polls.
    page.wait_text(r"^Status\nSucceeded$", timeout=BACKFILL_SECONDS)
    # Partitions targeted, in progress, succeeded, failed.
    done = f"{BACKFILL_WINDOWS}\n0\n{BACKFILL_WINDOWS}\n0"
    page.wait_text(rf"^okta_system_log\n100% completed\n{done}$")
    page.screenshot("dagster-ui-backfill")

    status = demo_in_ui.ui.graphql(BACKFILL, id=backfill)["partitionBackfillOrError"]["status"]
    page.check(status == "COMPLETED_SUCCESS", f"the backfill's status is {status}")
    counts = demo_in_ui.row_counts(keys)
    page.check(
        sorted(counts) == keys and all(count > 0 for count in counts.values()),
        f"the backfilled windows' row counts: {counts}",
    )
    # Nothing else ran in the UI: the demo's runs (its live attacks' drains among them, which
    # no sensor launched), and the backfill's.
    runs = demo_in_ui.ui.graphql(RUNS)["runsOrError"]["results"]
    demos = ("okta_aws_pipeline", "sync_detection_monitors", "okta_log_stream_drain")
    sensed = [r for r in runs if any(t["key"] == "dagster/sensor_name" for t in r["tags"])]
    others = sensed + [
        run
        for run in runs
        if run["jobName"] not in demos
        and {"key": "dagster/backfill", "value": backfill} not in run["tags"]
    ]
    page.check(others == [], f"runs neither the demo's nor the backfill's: {others}")
