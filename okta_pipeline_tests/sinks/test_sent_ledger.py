"""The sent ledger: acceptances written in several checkpoints are all read back."""

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson

from okta_pipeline.lib.landing import LandingZone
from okta_pipeline.lib.sinks.sent_ledger import SentLedger

WINDOW = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)


def test_acceptances_of_every_checkpoint_are_read_by_a_later_run(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    first = SentLedger(zone, "openobserve", checkpoint_seconds=0.0)  # each record is written
    first.record(WINDOW, [("a", "2026-12-01T10:05:01.000Z", "")])
    first.record(WINDOW, [("b", "2026-12-01T10:05:02.000Z", ""), ("c", "x", "")])
    later = SentLedger(zone, "openobserve")
    later.record(WINDOW, [("d", "2026-12-01T10:05:09.000Z", "")])
    later.flush()

    assert SentLedger(zone, "openobserve").accepted(WINDOW) == {"a", "b", "c", "d"}
    stored = tmp_path / later.zone.window_key(WINDOW)
    lines = gzip.decompress(stored.read_bytes()).splitlines()  # one stream to any gzip reader
    assert [orjson.loads(line)["uuid"] for line in lines] == ["a", "b", "c", "d"]


def test_nothing_is_written_before_the_checkpoint_or_a_flush(tmp_path: Path) -> None:
    zone = LandingZone(tmp_path)
    ledger = SentLedger(zone, "cloudtrail_lake", checkpoint_seconds=3600)
    ledger.record(WINDOW, [("a", "2026-12-01T10:05:01.000Z", "id-a")])
    assert ledger.accepted(WINDOW) == {"a"}
    assert SentLedger(zone, "cloudtrail_lake").accepted(WINDOW) == set()
    ledger.flush()
    assert SentLedger(zone, "cloudtrail_lake").accepted(WINDOW) == {"a"}
