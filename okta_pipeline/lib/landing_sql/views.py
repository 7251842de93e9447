"""A DuckDB connection with the landing zone as SQL views: `okta_events` and `cloudtrail_events`.

Each landed line is read as one JSON value (`read_ndjson_objects`), and the columns are
extracted from it. DuckDB never infers a schema from the files, so a CloudTrail field that is
an object in one record and a string or null in the next cannot break a view, and the whole
record stays in `raw`. Extraction never fails: a missing field or a time that does not parse is
NULL, and the values taken from CloudTrail's request and response only when they are strings.
Times are TIMESTAMP WITH TIME ZONE, and the session's time zone is UTC.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from okta_pipeline.lib.landing.storage import S3Client, storage_at
from okta_pipeline.lib.landing_sql.landed_files import LandedFiles, WindowRange, landed_files

OKTA_DATASET = "okta_system_log"
CLOUDTRAIL_DATASET = "cloudtrail_events"


def _text(path: str) -> str:
    """A string value of the landed record at a JSON path; NULL for any other type."""
    return (
        f"CASE WHEN json_type(json, '{path}') = 'VARCHAR' "
        f"THEN json_extract_string(json, '{path}') END"
    )


def _json(path: str) -> str:
    """The JSON value at a path, whatever its type; NULL for JSON null or a missing key."""
    return f"CASE WHEN json_type(json, '{path}') <> 'NULL' THEN json_extract(json, '{path}') END"


# The window's start, from its file's name (`dt=YYYY-MM-DD/HH-MM.jsonl.gz`, in UTC).
_WINDOW_START = (
    "timezone('UTC', strptime(regexp_extract(filename, "
    "'dt=([0-9-]+/[0-9]{2}-[0-9]{2})\\.jsonl\\.gz$', 1), '%Y-%m-%d/%H-%M'))"
)

OKTA_COLUMNS: dict[str, str] = {
    "uuid": "json->>'$.uuid'",
    "published": "TRY_CAST(json->>'$.published' AS TIMESTAMPTZ)",
    "event_type": "json->>'$.eventType'",
    "display_message": "json->>'$.displayMessage'",
    "severity": "json->>'$.severity'",
    "actor_id": "json->>'$.actor.id'",
    "actor_type": "json->>'$.actor.type'",
    "actor_login": "json->>'$.actor.alternateId'",
    "actor_name": "json->>'$.actor.displayName'",
    "client_ip": "json->>'$.client.ipAddress'",
    "user_agent": "json->>'$.client.userAgent.rawUserAgent'",
    "country": "json->>'$.client.geographicalContext.country'",
    "city": "json->>'$.client.geographicalContext.city'",
    "session_id": "json->>'$.authenticationContext.externalSessionId'",
    "outcome": "json->>'$.outcome.result'",
    "outcome_reason": "json->>'$.outcome.reason'",
    "request_uri": "json->>'$.debugContext.debugData.requestUri'",
    "target": (
        "TRY_CAST(json->'$.target' AS "
        'STRUCT(id VARCHAR, type VARCHAR, "alternateId" VARCHAR, "displayName" VARCHAR)[])'
    ),
    "window_start": _WINDOW_START,
    "raw": "json",
}
"""The `okta_events` view: handy columns of Okta's LogEvent, the landed window, the event."""

CLOUDTRAIL_COLUMNS: dict[str, str] = {
    "event_id": "json->>'$.eventID'",
    "event_time": "TRY_CAST(json->>'$.eventTime' AS TIMESTAMPTZ)",
    "event_name": "json->>'$.eventName'",
    "event_source": "json->>'$.eventSource'",
    "event_type": "json->>'$.eventType'",
    "aws_region": "json->>'$.awsRegion'",
    "account_id": "coalesce(json->>'$.recipientAccountId', json->>'$.userIdentity.accountId')",
    "source_ip": "json->>'$.sourceIPAddress'",
    "user_agent": "json->>'$.userAgent'",
    "user_type": "json->>'$.userIdentity.type'",
    "user_arn": "json->>'$.userIdentity.arn'",
    "user_name": "json->>'$.userIdentity.userName'",
    "access_key_id": "json->>'$.userIdentity.accessKeyId'",
    "caller_role_arn": "json->>'$.userIdentity.sessionContext.sessionIssuer.arn'",
    # The session a call was made in: the last part of an assumed-role ARN
    # (arn:aws:sts::123456789012:assumed-role/RoleName/session-name).
    "caller_session_name": (
        "nullif(regexp_extract(json->>'$.userIdentity.arn', "
        "'^arn:[^:]+:sts::[0-9]*:assumed-role/[^/]+/(.+)$', 1), '')"
    ),
    # The session an AssumeRole* call creates: its name and role as asked for, and the ARN its
    # calls will carry as user_arn. AssumeRoleWithSAML also names the IdP's user (for Okta,
    # the Okta username) as the assertion's subject.
    "role_session_name": _text("$.requestParameters.roleSessionName"),
    "role_arn": _text("$.requestParameters.roleArn"),
    "principal_arn": _text("$.requestParameters.principalArn"),
    "assumed_role_arn": _text("$.responseElements.assumedRoleUser.arn"),
    "saml_subject": _text("$.responseElements.subject"),
    "error_code": "json->>'$.errorCode'",
    "error_message": "json->>'$.errorMessage'",
    "request_parameters": _json("$.requestParameters"),
    "response_elements": _json("$.responseElements"),
    "window_start": _WINDOW_START,
    "raw": "json",
}
"""The `cloudtrail_events` view: handy columns of a CloudTrail record, its window, the record."""

VIEWS: dict[str, tuple[str, dict[str, str]]] = {
    "okta_events": (OKTA_DATASET, OKTA_COLUMNS),
    "cloudtrail_events": (CLOUDTRAIL_DATASET, CLOUDTRAIL_COLUMNS),
}
"""View name -> (landed dataset, its columns as SQL over one landed line `json`)."""


@dataclass(frozen=True)
class LandingDatabase:
    connection: duckdb.DuckDBPyConnection
    files: dict[str, LandedFiles]
    """View name -> the window files it reads."""
    root: str
    """Where the files were landed, for people: a path or an s3:// URL."""
    scratch: Path
    """Where files downloaded from S3 are read from."""

    def landed_location(self, text: str) -> str:
        """`text` (a DuckDB message) with downloaded copies named by where they were landed."""
        if not self.root.startswith("s3://"):
            return text
        return text.replace(f"{self.scratch}/", self.root.rstrip("/") + "/")


@contextmanager
def open_landing(
    root: str | Path,
    windows: WindowRange | None = None,
    s3_client: S3Client | None = None,
) -> Iterator[LandingDatabase]:
    """An in-memory DuckDB with one view per dataset over the landed windows in `windows`
    (everything landed by default); S3 windows are downloaded to a scratch directory that
    lives as long as the connection."""
    storage = storage_at(root, s3_client=s3_client)
    span = windows or WindowRange()
    with tempfile.TemporaryDirectory(prefix="okta-pipeline-sql-") as scratch:
        files = {
            view: landed_files(storage, dataset, span, Path(scratch))
            for view, (dataset, _) in VIEWS.items()
        }
        connection = duckdb.connect()
        try:
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute("SET enable_progress_bar = false")  # no bar over query output
            for view, (_, columns) in VIEWS.items():
                connection.execute(view_sql(view, columns, files[view].paths))
            yield LandingDatabase(connection, files, storage.location(""), Path(scratch))
        finally:
            connection.close()


def view_sql(view: str, columns: dict[str, str], paths: list[Path]) -> str:
    """CREATE VIEW over these files; with none, an empty view with the same columns."""
    if paths:
        listed = ", ".join(_literal(str(p)) for p in paths)
        source = f"read_ndjson_objects([{listed}], filename = true, compression = 'gzip')"
    else:
        source = "(SELECT NULL::JSON AS json, NULL::VARCHAR AS filename WHERE false)"
    select = ",\n  ".join(f"{sql} AS {name}" for name, sql in columns.items())
    return f"CREATE VIEW {view} AS SELECT\n  {select}\nFROM {source}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
