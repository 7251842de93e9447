"""`okta-pipeline sql`: its formats read back to the rows DuckDB gave, its examples, its errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from okta_pipeline.cli.main import main
from okta_pipeline.lib.landing import WINDOW
from okta_pipeline.lib.landing_sql.examples import load_examples
from okta_pipeline.lib.landing_sql.views import open_landing
from okta_pipeline_tests.sql.landings import land_records, land_simulated, shape_varying_records

START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
QUERY = (
    "SELECT uuid, published, event_type, count(*) OVER () AS events, target, "
    "outcome_reason, raw FROM okta_events ORDER BY uuid"
)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    land_simulated(tmp_path, START, START + 2 * WINDOW)
    land_records(tmp_path, shape_varying_records(START))
    return tmp_path


def expected_rows(landing: Path) -> list[tuple[object, ...]]:
    with open_landing(landing) as db:
        rows = db.connection.execute(QUERY).fetchall()
    assert len(rows) > 100
    return rows


def sql(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(["sql", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_csv_reads_back_to_the_same_rows(landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sql(capsys, "--landing", str(landing), "--format", "csv", QUERY)
    assert code == 0
    reader = csv.reader(io.StringIO(out))
    assert next(reader) == ["uuid", "published", "event_type", "events", "target",
                            "outcome_reason", "raw"]  # fmt: skip
    parsed = list(reader)
    expected = expected_rows(landing)
    assert len(parsed) == len(expected)
    for row, (uuid, published, event_type, events, target, reason, raw) in zip(
        parsed, expected, strict=True
    ):
        assert row[0] == uuid and row[2] == event_type and int(row[3]) == events
        assert moment(row[1]) == published
        assert (json.loads(row[4]) if row[4] else None) == target
        assert (row[5] or None) == reason, "NULL is an empty cell"
        assert json.loads(row[6]) == json.loads(str(raw))
    assert f"{len(expected)} rows from {landing}" in err


def test_json_lines_read_back_to_the_same_rows(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = sql(capsys, "--landing", str(landing), "--format", "json", QUERY)
    assert code == 0
    parsed = [json.loads(line) for line in out.splitlines()]
    expected = expected_rows(landing)
    assert len(parsed) == len(expected)
    for row, (uuid, published, event_type, events, target, reason, raw) in zip(
        parsed, expected, strict=True
    ):
        assert list(row) == ["uuid", "published", "event_type", "events", "target",
                             "outcome_reason", "raw"]  # fmt: skip
        assert (row["uuid"], row["event_type"], row["events"]) == (uuid, event_type, events)
        assert moment(row["published"]) == published
        assert row["target"] == target and row["outcome_reason"] == reason
        assert row["raw"] == json.loads(str(raw)), "a JSON column is JSON, not a string"
        assert row["published"] == row["raw"]["published"], "Okta's millisecond form"


def test_the_table_is_aligned_and_counts_its_rows(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = sql(
        capsys,
        "--landing",
        str(landing),
        "SELECT event_name, count(*) AS calls, max(raw) AS raw FROM cloudtrail_events "
        "GROUP BY ALL ORDER BY calls DESC, event_name",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["event_name", "calls", "raw"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].startswith("AssumeRole ") and lines[-1] == "(3 rows)"
    calls_end = lines[0].index("calls") + len("calls")
    assert [line[calls_end - 1] for line in lines[2:5]] == ["3", "1", "1"], "numbers right"
    assert all(len(line) < 100 for line in lines), "long cells are cut"


def test_examples_are_listed_and_run_by_name(
    landing: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = sql(capsys, "--list-examples")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(load_examples())
    monkeypatch.setenv("OKTA_PIPELINE_LANDING_ROOT", str(landing))
    code, out, err = sql(capsys, "--example", "cloudtrail_calls_per_name", "--format", "json")
    assert code == 0 and f"from {landing}" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {(r["event_name"], r["calls"]) for r in rows} == {
        ("AssumeRole", 3),
        ("GetCallerIdentity", 1),
        ("PutObject", 1),
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELEC 1", 'error: DuckDB: Parser Error: syntax error at or near "SELEC"'),
        (
            "SELECT * FROM okta_event",
            "error: DuckDB: Catalog Error: Table with name okta_event does not exist! "
            'Did you mean "okta_events"?',
        ),
        ("SELECT nothing FROM cloudtrail_events", "error: DuckDB: Binder Error: "),
    ],
)
def test_bad_sql_exits_2_with_duckdbs_message_on_one_line(
    landing: Path, capsys: pytest.CaptureFixture[str], query: str, message: str
) -> None:
    code, out, err = sql(capsys, "--landing", str(landing), query)
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_damaged_window_is_named_with_how_to_repair_it(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    window = landing / "okta_system_log" / "dt=2026-12-01" / "13-05.jsonl.gz"
    window.write_bytes(window.read_bytes()[:200])
    code, _, err = sql(capsys, "--landing", str(landing), "SELECT count(*) FROM okta_events")
    assert code == 2
    assert str(window) in err and "re-fetch it" in err and err.count("\n") == 1


def test_usage_errors(landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for arguments in (
        [],
        ["--example", "okta_events_per_type", "SELECT 1"],
        ["--since", "2026-12-01T13:02", "SELECT 1"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["sql", "--landing", str(landing), *arguments])
        assert exit_.value.code == 2, arguments
    assert "5-minute boundary" in capsys.readouterr().err
    code, _, err = sql(capsys, "--landing", str(landing), "--example", "nope", "--format", "csv")
    assert code == 1 and err.startswith("error: no example query named 'nope'")
    code, _, err = sql(
        capsys, "--landing", str(landing), "--since", "2026-12-01T14:00", "--until",
        "2026-12-01T13:00", "SELECT 1",
    )  # fmt: skip
    assert code == 1 and "must be before until" in err


def test_a_range_limits_what_is_read(landing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = sql(
        capsys,
        "--landing",
        str(landing),
        "--since",
        "2026-12-01T13:05Z",
        "--until",
        (START + timedelta(minutes=10)).isoformat(),
        "--format",
        "csv",
        "SELECT min(window_start) AS first, max(window_start) AS last FROM okta_events",
    )
    assert code == 0
    assert out.splitlines()[1] == "2026-12-01T13:05:00Z,2026-12-01T13:05:00Z"
    assert "okta_events 1 window, cloudtrail_events 1 window" in err


def test_parameters_are_bound_and_an_example_names_the_ones_it_needs(
    landing: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_landing(landing) as db:
        (login,) = db.connection.execute(
            "SELECT actor_login FROM okta_events WHERE actor_login IS NOT NULL LIMIT 1"
        ).fetchone() or ("",)
        (events,) = db.connection.execute(
            "SELECT count(*) FROM okta_events WHERE actor_login = ?", [login]
        ).fetchone() or (0,)
    code, out, _ = sql(
        capsys, "--landing", str(landing), "--param", f"who={login}", "--format", "csv",
        "SELECT count(*) AS n FROM okta_events WHERE actor_login = $who",
    )  # fmt: skip
    assert code == 0 and out.splitlines()[1] == str(events)
    code, out, _ = sql(
        capsys, "--landing", str(landing), "--example", "okta_and_aws_activity_for_user",
        "--param", f"user={login}", "--format", "json",
    )  # fmt: skip
    assert code == 0 and len(out.splitlines()) >= events
    with pytest.raises(SystemExit) as exit_:
        main(["sql", "--landing", str(landing), "--example", "okta_and_aws_activity_for_user"])
    assert exit_.value.code == 2 and "needs --param user=..." in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sql", "--landing", str(landing), "--param", "no-equals", "SELECT 1"])
    assert "is not NAME=VALUE" in capsys.readouterr().err
