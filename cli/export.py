"""`referral export --format csv|parquet DIR`: the engine's tables as files for BI tools,
one per table, written a chunk at a time. Money in minor units, times in UTC (ISO 8601 in
CSV, timestamp[us, UTC] in Parquet); no names, emails or phone numbers."""

from __future__ import annotations

import csv
from datetime import datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from sqlalchemy import Boolean, DateTime, Float, Integer

from cli import context
from cli.errors import UserError, friendly
from cli.output import console
from db.export import Export, chunks, export_named
from db.types import UTCDateTime


class Format(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


@friendly
def export_command(
    directory: Annotated[Path, typer.Argument(help="Where the files go (created if needed).")],
    format: Annotated[Format, typer.Option("--format", help="csv or parquet.")] = Format.CSV,
    table: Annotated[
        list[str] | None, typer.Option("--table", help="Only these tables (repeatable).")
    ] = None,
) -> None:
    """Write each table to DIR/<table>.csv or DIR/<table>.parquet."""
    try:
        exports = export_named(table or [])
    except KeyError as unknown:
        raise UserError(f"no table {unknown.args[0]!r} to export") from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {directory}: {exc.strerror}") from None
    written: list[tuple[str, int]] = []
    with context.session() as (_settings, session), Progress(console=console) as progress:
        for export in exports:
            bar = progress.add_task(export.name, total=None)
            path = directory / f"{export.name}.{format.value}"
            write = _write_csv if format is Format.CSV else _write_parquet
            rows = write(path, export, chunks(session, export), partial(progress.advance, bar))
            progress.update(bar, total=rows, completed=rows)
            written.append((path.name, rows))
    for name, rows in written:
        console.print(f"{name}: {rows:,} rows")


def _write_csv(path: Path, export: Export, parts: Any, advance: Any) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(export.columns)
        for part in parts:
            writer.writerows([[_cell(v) for v in row] for row in part])
            rows += len(part)
            advance(len(part))
    return rows


def _write_parquet(path: Path, export: Export, parts: Any, advance: Any) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(export, name)) for name in export.columns])
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for part in parts:
            columns = list(zip(*part, strict=True))
            writer.write_table(pa.Table.from_arrays(
                [pa.array(list(col), type=schema.field(i).type) for i, col in enumerate(columns)],
                schema=schema,
            ))  # fmt: skip
            rows += len(part)
            advance(len(part))
    return rows


def _arrow_type(export: Export, name: str) -> Any:
    import pyarrow as pa

    column_type = getattr(export.model, name).type
    if isinstance(column_type, UTCDateTime | DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(column_type, Integer):  # BigInteger and the id type included
        return pa.int64()
    if isinstance(column_type, Boolean):
        return pa.bool_()
    if isinstance(column_type, Float):
        return pa.float64()
    return pa.string()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value
