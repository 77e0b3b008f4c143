"""`make bench`: the engine's bulk paths on PostgreSQL beside the machine's raw COPY speed,
then the nightly chain over the demo shop on the embedded default (bench.nightly).

    python -m bench.run --customers 1000000 --advocates 100000

Needs REFERRAL_TEST_POSTGRES_URL (make bench creates a throw-away database).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from bench import nightly, pipeline
from bench import report as report_bench
from bench.cpu import cores
from bench.vacuum import as_autovacuum_would
from db.advocates import enroll_top, issue_missing_codes
from db.customers import LOADED_COLUMNS
from db.engine import make_engine, session_factory, transaction
from db.migrate import upgrade
from db.programs import Programs
from integrations.crm.synthetic import generate_customers, read_customers_csv, write_customers_csv
from referral.scoring import ScoreWeights
from tasks.crm import customer_row, load_customers

console = Console(width=150)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
PEPPER = b"bench-pepper"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--advocates", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--conversions", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ["REFERRAL_TEST_POSTGRES_URL"]
    engine = make_engine(url)
    upgrade(engine)
    results = _Results()

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "customers.csv"
        started = time.perf_counter()
        write_customers_csv(csv_path, generate_customers(args.customers, seed=args.seed, now=NOW))
        console.print(
            f"generated {args.customers:,} customers in {time.perf_counter() - started:.1f} s"
        )

        # Baselines: the same rows, already in their final shape, COPYed by the server.
        rows_path = Path(tmp) / "rows.tsv"
        with rows_path.open("w") as out:
            for record in read_customers_csv(csv_path):
                row = customer_row(record, source="crm", pepper=PEPPER, region="US")
                out.write("\t".join(_tsv(row[c]) for c in LOADED_COLUMNS) + "\n")
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"CREATE TABLE bench_bare AS SELECT {', '.join(LOADED_COLUMNS)} "
                    "FROM customers WITH NO DATA"
                )
            )
        bare_seconds = _copy_file(engine, rows_path, "bench_bare")
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE bench_bare"))
        results.add(
            ("raw COPY into a bare table", args.customers, bare_seconds, "no keys, no indexes")
        )
        copy_seconds = _copy_file(engine, rows_path, "customers")
        results.add(
            (
                "raw COPY into customers (baseline)",
                args.customers,
                copy_seconds,
                "same table, same indexes",
            )
        )

        with engine.begin() as connection:
            connection.execute(text("TRUNCATE customers RESTART IDENTITY CASCADE"))
        factory = session_factory(engine).begin
        started = time.perf_counter()
        loaded = sum(
            load_customers(
                factory, read_customers_csv(csv_path), batch_size=args.batch_size, pepper=PEPPER
            )
        )
        load_seconds = time.perf_counter() - started
        results.add(
            (
                "engine load (parse, normalize, upsert)",
                loaded,
                load_seconds,
                f"{copy_seconds / load_seconds:.2f}x of COPY into customers (target >= 0.33); "
                f"{bare_seconds / load_seconds:.2f}x of bare COPY",
            )
        )

    as_autovacuum_would(engine, "customers")
    with transaction(engine) as session:
        program = Programs(session).create(
            slug="bench",
            name="Bench",
            reward_structure="referrer_only",
            referrer_reward={"type": "credit", "amount": "5"},
        )
    started = time.perf_counter()
    with transaction(engine) as session:
        enrolled = enroll_top(session, program.id, ScoreWeights(), top=args.advocates).enrolled
    results.add(
        (
            "score all + enrol top advocates",
            args.customers,
            time.perf_counter() - started,
            f"{enrolled:,} enrolled; target <= 5 s for 1M",
        )
    )
    started = time.perf_counter()
    with transaction(engine) as session:
        issued = issue_missing_codes(session, program.id, length=8)
    code_seconds = time.perf_counter() - started
    results.add(("issue codes", issued, code_seconds, "target <= 2 s for 100k"))

    referrals, report_seconds = report_bench.measure(engine, "bench", args.referrals)
    results.add(
        (
            f"full report over {args.customers:,} customers",
            referrals,
            report_seconds,
            "referrals in the report; target <= 10 s",
        )
    )

    copy_rate = args.customers / copy_seconds
    stages = pipeline.measure(engine, args.conversions, 5_000, 5_000)
    converted = next(rows for stage, rows, _ in stages if stage.startswith("end to end"))
    for stage, rows, seconds in stages:
        note = ""
        if stage.startswith("end to end"):
            note = "target >= 20,000 conversions/s"
        elif stage == pipeline.CPU_STAGE:
            note = f"20,000/s needs {20_000 / cores():,.0f} per CPU-second on {cores()} cores"
        elif stage.startswith("rows written"):
            per = rows / converted
            note = (
                f"{per:.1f} per conversion: 20,000 conversions/s means "
                f"{20_000 * per:,.0f} rows/s, {20_000 * per / copy_rate:.1f}x COPY into customers"
            )
        results.add((f"pipeline: {stage}", rows, seconds, note))
    end_to_end = next(seconds for stage, _, seconds in stages if stage.startswith("end to end"))
    for stage, rows, seconds in pipeline.measure_floor(engine, args.conversions, 5_000):
        note = f"the pipeline took {end_to_end / seconds:.1f}x this; 20,000/s means 5.00 s"
        if stage.endswith(pipeline.CPU_STAGE):
            note = f"20,000/s needs {20_000 / cores():,.0f} per CPU-second on {cores()} cores"
        results.add((f"pipeline: {stage}", rows, seconds, note))
    stage, rows, seconds = pipeline.measure_held(engine, args.conversions, 5_000, 5_000)
    results.add((f"pipeline: {stage}", rows, seconds, "the path of programs with a refund hold"))

    # The embedded default, as `make demo` runs it: SQLite and Prefect's own start.
    demo, night = nightly.measure()
    results.add((f"SQLite: {demo[0]}", demo[1], demo[2], "seeding and the first night"))
    results.add((f"SQLite: {night[0]}", night[1], night[2], "a process; target < 30 s"))

    table = Table(title=f"bench on PostgreSQL, {args.customers:,} customers")
    columns = ("stage", "rows", "seconds", "rows/s", "x COPY rate", "peak MB", "note")
    for column in columns:
        table.add_column(column, justify="left" if column in ("stage", "note") else "right")
    for stage, rows, seconds, note, peak in results:
        rate = rows / seconds
        table.add_row(
            stage,
            f"{rows:,}",
            f"{seconds:.2f}",
            f"{rate:,.0f}",
            f"{rate / copy_rate:.2f}",
            f"{peak:.0f}",
            note,
        )
    console.print(table)
    console.print(f"peak memory (RSS): {peak_rss_mb():.0f} MB (target < 500 MB)")


class _Results(list[tuple[str, int, float, str, float]]):
    """Each stage's figures with the process's peak RSS when it ended: which stage sets the
    bench's peak memory."""

    def add(self, row: tuple[str, int, float, str]) -> None:
        self.append((*row, peak_rss_mb()))


def _copy_file(engine, path: Path, table: str) -> float:
    """COPY a ready-made file into an empty table: the fastest these rows can land there."""
    raw = engine.raw_connection()
    cursor = raw.cursor()
    cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
    raw.commit()
    started = time.perf_counter()
    with (
        path.open("rb") as source,
        cursor.copy(f"COPY {table} ({', '.join(LOADED_COLUMNS)}) FROM STDIN") as copy,
    ):
        while chunk := source.read(1 << 20):
            copy.write(chunk)
    raw.commit()
    seconds = time.perf_counter() - started
    raw.close()
    return seconds


def _tsv(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dict):
        import json

        return json.dumps(value).replace("\\", "\\\\")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


if __name__ == "__main__":
    main()
