"""The CRM sync and identify-advocates flows end to end on PostgreSQL, through Prefect.

    ./bin/with-test-postgres .venv/bin/python -m bench.identify --customers 200000

Writes the customers as a drop-folder CSV (plus a purchase event for one in ten), runs
`sync-crm` and then `identify-advocates` twice (the second enrols nobody) on Prefect's
ephemeral API, and times each flow and the enrolment task alone. Needs
REFERRAL_TEST_POSTGRES_URL; Prefect's state goes to a temporary PREFECT_HOME.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from db.engine import make_engine, transaction
from db.migrate import upgrade
from db.programs import Programs
from integrations.crm.synthetic import generate_customers, write_customers_csv

console = Console()
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--top", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = os.environ["REFERRAL_TEST_POSTGRES_URL"]
    upgrade(make_engine(url))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            REFERRAL_DATABASE_URL=url,
            REFERRAL_DATA_DIR=tmp,
            PREFECT_HOME=str(Path(tmp) / "prefect"),
            PREFECT_LOGGING_LEVEL="WARNING",
        )
        drop = Path(tmp) / "crm-drop"
        drop.mkdir()
        write_customers_csv(
            drop / "1-customers.csv",
            generate_customers(args.customers, seed=args.seed, now=NOW),
        )
        _events(drop / "2-events.jsonl", args.customers)
        with transaction(make_engine(url)) as session:
            Programs(session).create(
                slug="bench",
                name="Bench",
                reward_structure="referrer_only",
                referrer_reward={"type": "credit", "amount": "5"},
                advocates={
                    "segment": [{"field": "segment", "op": "in", "value": ["vip", "loyal"]}],
                    "top": args.top,
                },
            )
        # Imported here: the flows read PREFECT_HOME when Prefect loads.
        from flows.identify_advocates import identify_advocates
        from flows.sync_crm import sync_crm
        from tasks.advocates import identify_by_program

        results = []
        empty = Path(tmp) / "empty"
        empty.mkdir()
        started = time.perf_counter()
        sync_crm(folder=str(empty))
        results.append(("Prefect's start + an empty sync", time.perf_counter() - started, ""))
        started = time.perf_counter()
        synced = sync_crm()
        results.append(("sync-crm flow", time.perf_counter() - started, _brief(synced)))
        started = time.perf_counter()
        first = identify_advocates("bench")
        results.append(("identify-advocates flow", time.perf_counter() - started, _brief(first)))
        started = time.perf_counter()
        again = identify_advocates("bench")
        results.append(("same, second run", time.perf_counter() - started, _brief(again)))
        started = time.perf_counter()
        alone = identify_by_program.fn(url, "bench", top=args.top * 2, min_score=None)
        results.append(("enrolment task alone", time.perf_counter() - started, _brief(alone)))

    table = Table(title=f"sync and identify on PostgreSQL, {args.customers:,} customers")
    for column in ("step", "seconds", "result"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for step, seconds, result in results:
        table.add_row(step, f"{seconds:.2f}", result)
    console.print(table)


def _events(path: Path, customers: int) -> None:
    with path.open("w") as out:
        for n in range(1, customers + 1, 10):
            event = {
                "id": f"evt-{n}",
                "type": "purchase",
                "occurred_at": "2026-10-30T12:00:00Z",
                "customer": {"external_id": f"C{n:07d}"},
                "order_id": f"O{n}",
                "amount": "42.00",
                "currency": "USD",
            }
            out.write(json.dumps(event) + "\n")


def _brief(summary: dict[str, object]) -> str:
    return ", ".join(f"{k} {v}" for k, v in summary.items() if k not in ("source",))


if __name__ == "__main__":
    main()
