"""Builders for drop-folder files: customers CSVs from the synthetic CRM, events JSONL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integrations.crm.synthetic import generate_customers, write_customers_csv

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SEED = 11


def customers_csv(folder: Path, name: str, *, start: int = 0, count: int = 10) -> Path:
    path = folder / name
    write_customers_csv(path, generate_customers(count, seed=SEED, now=NOW, start=start))
    return path


def purchase(n: int, customer: str = "C1", **fields: Any) -> dict[str, Any]:
    return {
        "id": f"evt-{n}",
        "type": "purchase",
        "occurred_at": "2026-11-01T12:00:00Z",
        "customer": {"external_id": customer, "email": f"{customer.lower()}@example.com"},
        "order_id": f"O{n}",
        "amount": "30.00",
        "currency": "USD",
        **fields,
    }


def events_jsonl(folder: Path, name: str, events: list[dict[str, Any]], mode: str = "w") -> Path:
    path = folder / name
    with path.open(mode, encoding="utf-8") as handle:
        for event in events:
            handle.write((event if isinstance(event, str) else json.dumps(event)) + "\n")
    return path
