"""A query's result as an aligned text table, CSV with a header, or JSON Lines.

Values are written the same way in every format: times in ISO 8601 (UTC as `Z`), JSON
columns as their JSON, lists and structs as JSON, NULL as an empty CSV cell or JSON null.
CSV and JSON Lines are streamed; the table is held to measure its columns.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO
from uuid import UUID

import duckdb

FORMATS = ("table", "csv", "json")
TABLE_CELL_WIDTH = 60
BATCH_ROWS = 1000


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def columns_of(cursor: duckdb.DuckDBPyConnection) -> list[Column]:
    """The result's columns, with repeated names made unique (`a`, `a_2`) for JSON objects."""
    seen: dict[str, int] = {}
    columns = []
    for described in cursor.description or []:
        name = str(described[0])
        seen[name] = seen.get(name, 0) + 1
        unique = name if seen[name] == 1 else f"{name}_{seen[name]}"
        columns.append(Column(unique, str(described[1])))
    return columns


def write_result(cursor: duckdb.DuckDBPyConnection, form: str, out: TextIO) -> int:
    """Write the cursor's rows in `form` (one of FORMATS); return how many there were."""
    columns = columns_of(cursor)
    if form == "csv":
        return _write_csv(columns, _rows(cursor), out)
    if form == "json":
        return _write_json_lines(columns, _rows(cursor), out)
    if form == "table":
        return _write_table(columns, list(_rows(cursor)), out)
    raise ValueError(f"unknown format {form!r}: use one of {', '.join(FORMATS)}")


def plain(value: Any) -> Any:
    """A value as JSON holds it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec=_precision(value.microsecond)).replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def _precision(microsecond: int) -> str:
    """Print a time to the precision it has: CloudTrail's is seconds, Okta's milliseconds."""
    if microsecond == 0:
        return "seconds"
    return "milliseconds" if microsecond % 1000 == 0 else "microseconds"


def cell_text(value: Any, column: Column) -> str | None:
    """A value as one CSV or table cell; None for NULL."""
    if value is None:
        return None
    if column.type == "JSON" and isinstance(value, str):
        return value
    simple = plain(value)
    if isinstance(simple, bool):
        return "true" if simple else "false"
    if isinstance(simple, dict | list):
        return json.dumps(simple, ensure_ascii=False, separators=(",", ":"))
    return str(simple)


def json_value(value: Any, column: Column) -> Any:
    if column.type == "JSON" and isinstance(value, str):
        return json.loads(value)
    return plain(value)


def _rows(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    if cursor.description is None:
        return
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield from batch


def _write_csv(columns: list[Column], rows: Iterator[Sequence[Any]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    count = 0
    for row in rows:
        writer.writerow(
            [cell_text(v, c) or "" for v, c in zip(row, columns, strict=True)]  # NULL: empty
        )
        count += 1
    return count


def _write_json_lines(columns: list[Column], rows: Iterator[Sequence[Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        record = {c.name: json_value(v, c) for v, c in zip(row, columns, strict=True)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _write_table(columns: list[Column], rows: list[Sequence[Any]], out: TextIO) -> int:
    """Columns aligned, numbers to the right, cells cut at TABLE_CELL_WIDTH characters."""
    header = [c.name for c in columns]
    body = [[_table_cell(v, c) for v, c in zip(row, columns, strict=True)] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(header)]
    numeric = [c.type.split("(")[0].lstrip("U") in _NUMERIC for c in columns]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    out.write(line(header) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for cells in body:
        out.write(line(cells) + "\n")
    out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")
    return len(rows)


def _table_cell(value: Any, column: Column) -> str:
    text = cell_text(value, column)
    if text is None:
        return "NULL"
    text = " ".join(text.split()) if any(c in text for c in "\n\r\t") else text
    return text if len(text) <= TABLE_CELL_WIDTH else text[: TABLE_CELL_WIDTH - 1] + "…"
