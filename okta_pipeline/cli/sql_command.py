"""`okta-pipeline sql "SELECT ..."`: SQL over the landing zone, with DuckDB."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

import duckdb

from okta_pipeline.cli.time_arguments import aligned_time
from okta_pipeline.lib.landing_sql.examples import example, load_examples
from okta_pipeline.lib.landing_sql.formats import FORMATS, write_result
from okta_pipeline.lib.landing_sql.landed_files import WindowRange
from okta_pipeline.lib.landing_sql.views import LandingDatabase, open_landing

SQL_ERROR = 2
"""The exit code of a query DuckDB refuses or fails (argparse's code for bad usage)."""

DESCRIPTION = """\
Runs SQL (DuckDB's dialect) over two views of the landed files:
  okta_events        one row per Okta event: uuid, published, event_type, actor_login,
                     client_ip, session_id, outcome, target, ..., window_start, raw (the event)
  cloudtrail_events  one row per CloudTrail record: event_id, event_time, event_name,
                     event_source, aws_region, account_id, source_ip, user_type, user_arn,
                     access_key_id, caller_session_name, role_session_name, role_arn, ...,
                     window_start, raw (the record)
Times are UTC. `DESCRIBE okta_events` lists every column. A dataset with nothing landed gives
an empty view with the same columns.

--since and --until choose windows by their start (UTC, 5-minute aligned; --until exclusive);
by default every landed window is read. On S3 the windows read are downloaded first, so a
range is what keeps a query from downloading the whole landing zone.
"""

EPILOG = """\
examples:
  okta-pipeline sql "SELECT event_type, count(*) FROM okta_events GROUP BY ALL"
  okta-pipeline sql --example aws_calls_after_okta_sign_in --since 2026-12-01 --format csv
  okta-pipeline sql --example okta_and_aws_activity_for_user --param user=alice@example.com
  okta-pipeline sql --landing s3://bucket/landing --since 2026-12-01T13:00 \\
      --until 2026-12-01T14:00 "SELECT * FROM cloudtrail_events LIMIT 5"
"""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "sql",
        help="query the landing zone with SQL (DuckDB)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", nargs="?", help="the SQL to run")
    parser.add_argument("--example", metavar="NAME", help="run a named example query instead")
    parser.add_argument(
        "--list-examples", action="store_true", help="list the example queries and exit"
    )
    parser.add_argument(
        "--landing",
        help="the landing zone: a directory or s3://<bucket>/<prefix> "
        "(default: OKTA_PIPELINE_LANDING_ROOT, else ./landing)",
    )
    parser.add_argument(
        "--s3-endpoint-url", help="another S3 endpoint (an S3-compatible store, a VPC endpoint)"
    )
    parser.add_argument(
        "--since", type=aligned_time, help="first window to read (UTC, 5-minute aligned)"
    )
    parser.add_argument(
        "--until", type=aligned_time, help="window to stop before (exclusive; default: the last)"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=parameter,
        help="a value for $NAME in the query (repeatable), e.g. --param user=alice@example.com",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table: aligned text, long cells cut (default); csv: with a header row, "
        "NULL as an empty cell; json: JSON Lines, one object per row",
    )
    parser.set_defaults(handler=_sql, parser=parser)


def _sql(args: argparse.Namespace) -> int:
    if args.list_examples:
        examples = load_examples()
        width = max(len(name) for name in examples)
        for name, found in examples.items():
            print(f"{name:<{width}}  {found.title}")
        return 0
    if (args.query is None) == (args.example is None):
        args.parser.error("give a query or --example NAME (one of them)")
    query = example(args.example).sql if args.example else args.query
    parameters = dict(args.param)
    needed = example(args.example).parameters if args.example else ()
    missing = [name for name in needed if name not in parameters]
    if missing:
        args.parser.error(
            f"the example {args.example} needs "
            + ", ".join(f"--param {name}=..." for name in missing)
        )
    root = args.landing or os.environ.get("OKTA_PIPELINE_LANDING_ROOT") or "landing"
    windows = WindowRange(args.since, args.until)
    with open_landing(root, windows, s3_client=_s3_client(root, args.s3_endpoint_url)) as db:
        try:
            cursor = db.connection.execute(query, parameters or None)
            rows = write_result(cursor, args.format, sys.stdout)
            sys.stdout.flush()
        except duckdb.Error as error:
            print(f"error: {one_line(db, error)}", file=sys.stderr)
            return SQL_ERROR
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error. Point stdout at /dev/null so
            # that Python's own flush at exit does not fail on the closed pipe.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        print(summary(db, rows), file=sys.stderr)
    return 0


def parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def one_line(db: LandingDatabase, error: duckdb.Error) -> str:
    """DuckDB's message without the echo of the query, with a fix where the cause is known."""
    message = db.landed_location(str(error)).split("\n\n")[0]
    message = " ".join(message.split())
    if isinstance(error, duckdb.IOException) and re.search(r"dt=[^ ]+\.jsonl\.gz", message):
        message += (
            " (a damaged landed window: re-fetch it by materializing its asset for that "
            "partition, which sets the damaged file aside and lands the window whole)"
        )
    return f"DuckDB: {message}"


def summary(db: LandingDatabase, rows: int) -> str:
    read = ", ".join(
        f"{view} {len(files.windows)} window{'' if len(files.windows) == 1 else 's'}"
        for view, files in db.files.items()
    )
    downloaded = sum(files.downloaded_bytes for files in db.files.values())
    fetched = f", {downloaded / 1e6:.1f} MB downloaded" if db.root.startswith("s3://") else ""
    return f"{rows} row{'' if rows == 1 else 's'} from {db.root} ({read}{fetched})"


def _s3_client(root: str, endpoint_url: str | None) -> Any:
    if not root.startswith("s3://"):
        return None
    import boto3

    # Region and credentials come from the environment, as for the pipeline's runs.
    return boto3.client("s3", endpoint_url=endpoint_url)
