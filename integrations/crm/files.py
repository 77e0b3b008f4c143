"""The drop-folder CRM: an export job (or a person) puts files in a folder and each sync
applies what is new.

- `*.csv`: customers in the synthetic CSV format (`synthetic.write_customers_csv`: a header
  of CustomerRecord field names, ISO 8601 times with an offset, `true`/`false`).
- `*.jsonl`: events, one `referral.events.Event` JSON object a line (`{"id": ..., "type":
  "purchase", "occurred_at": ..., "customer": {"external_id": ...}, ...}`); blank lines are
  allowed.

Files are read in name order, so name them to sort in the order they arrive (e.g.
`2026-11-22T0100-customers.csv`); a file whose name sorts before the cursor's file is taken
as done and never read. Only `*.csv` and `*.jsonl` are read and names starting with a dot
are skipped, so a file still being written should carry another name (`x.csv.part`,
`.x.csv`) and be renamed when complete.

The cursor is `<file name>:<position>`: every file whose name sorts before `<file name>` is
done, and so are that file's first `<position>` records (data rows of a CSV, after the
header; lines of a JSONL file, blank ones included). A sync resumes there, so rows appended
to that file are picked up as well as any later file. Files may be archived (moved away)
once the cursor has passed them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from integrations.crm.base import CrmBatch, CrmReadError
from integrations.crm.synthetic import CustomerRecord, read_customers_csv
from referral.events import Event

SUFFIXES = (".csv", ".jsonl")
_T = TypeVar("_T")
_TIMES = ("customer_since", "nps_at", "first_order_at", "last_order_at")


@dataclass(frozen=True, slots=True)
class Cursor:
    file: str
    position: int

    def __str__(self) -> str:
        return f"{self.file}:{self.position}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        name, _, position = text.rpartition(":")
        if not name or not position.isdigit():
            raise CrmReadError(f"cursor {text!r} is not <file name>:<position>")
        return cls(name, int(position))


@dataclass(frozen=True, slots=True)
class FileCrm:
    """A drop folder as a CrmConnector. `name` keys the watermark, so two folders need two
    names; `customer_source` is the CRM whose customer ids the files carry."""

    folder: Path
    batch_size: int = 5_000
    name: str = "files"
    customer_source: str = "crm"

    def pull(self, since: str | None) -> Iterator[CrmBatch]:
        start = Cursor.parse(since) if since else None
        for path in self.files():
            if start is not None and path.name < start.file:
                continue
            skip = start.position if start is not None and path.name == start.file else 0
            yield from self._batches(path, skip)

    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            raise CrmReadError(f"the CRM drop folder {self.folder} does not exist")
        return sorted(
            (
                p
                for p in self.folder.iterdir()
                if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()
            ),
            key=lambda p: p.name,
        )

    def _batches(self, path: Path, skip: int) -> Iterator[CrmBatch]:
        if path.suffix == ".csv":
            for position, records in _chunks(_customers(path, skip), self.batch_size):
                yield CrmBatch(cursor=str(Cursor(path.name, position)), records=records)
        else:
            for position, events in _chunks(_events(path, skip), self.batch_size):
                yield CrmBatch(cursor=str(Cursor(path.name, position)), events=events)


def _chunks(
    items: Iterator[tuple[int, _T | CrmReadError | None]], size: int
) -> Iterator[tuple[int, list[_T]]]:
    """(position after the chunk, its items). None items (blank lines) only move the
    position. A read error first hands over the good items before it, so a re-run resumes
    at the bad line itself."""
    chunk: list[_T] = []
    position = 0
    for at, item in items:
        if isinstance(item, CrmReadError):
            if chunk:
                yield position, chunk
            raise item
        position = at
        if item is not None:
            chunk.append(item)
        if len(chunk) == size:
            yield position, chunk
            chunk = []
    if chunk:
        yield position, chunk


def _customers(path: Path, skip: int) -> Iterator[tuple[int, CustomerRecord | CrmReadError]]:
    if path.stat().st_size == 0:  # just created; the header comes with the first write
        return
    records = read_customers_csv(path)
    position = 0
    try:
        # The records before the cursor are read again (CSV rows have no fixed length) and
        # dropped; this only happens when resuming inside a file.
        for _ in islice(records, skip):
            position += 1
        if position < skip:
            yield position, _shorter(path, position, skip)
            return
        for record in records:
            position += 1
            problem = _naive_time(record)
            if problem:
                yield (
                    position,
                    CrmReadError(f"{path.name}, line {position + 1}: {problem} has no UTC offset"),
                )
                return
            yield position, record
    except (ValueError, csv.Error, UnicodeDecodeError) as exc:
        # Not chained: the original message may quote the cell, which is personal data.
        if position == 0 and str(exc).startswith("not a customers CSV"):
            message = "not the header of a customers CSV (synthetic.write_customers_csv)"
            yield 0, CrmReadError(f"{path.name}, line 1: {message}")
        else:
            message = "not a customer record in the customers CSV format"
            yield position, CrmReadError(f"{path.name}, line {position + 2}: {message}")


def _naive_time(record: CustomerRecord) -> str | None:
    for name in _TIMES:
        value = getattr(record, name)
        if value is not None and value.tzinfo is None:
            return name
    return None


def _events(path: Path, skip: int) -> Iterator[tuple[int, Event | CrmReadError | None]]:
    number = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number <= skip:
                continue
            if not line.strip():
                yield number, None
                continue
            try:
                event = Event.model_validate_json(line)
            except ValidationError as exc:
                yield number, CrmReadError(f"{path.name}, line {number}: {_problems(exc)}")
                return
            yield number, event
    if number < skip:
        yield number, _shorter(path, number, skip)


def _shorter(path: Path, length: int, skip: int) -> CrmReadError:
    return CrmReadError(
        f"{path.name} has {length} records but the cursor is at {skip}: drop files may only "
        "grow, so it was replaced; give the new file a new name, or reset the watermark"
    )


def _problems(error: ValidationError) -> str:
    """Where and what kind of problem, e.g. `occurred_at: missing`; never the input."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        if item["type"] == "json_invalid":
            return "not a JSON object"
        if not item["loc"]:  # the model's own checks, e.g. a purchase without an amount
            problems.append("fields its type requires are missing or do not fit")
            continue
        problems.append(f"{'.'.join(str(part) for part in item['loc'])}: {item['type']}")
    return "not a valid event (" + "; ".join(problems[:5]) + ")"
