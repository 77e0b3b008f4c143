"""The drop folder's other direction: what the engine would tell a CRM, as files an import
job (or a person) picks up, for installs that sync through files.

- `contacts.jsonl`: `{"id": <external id>, "properties": {...}}` a line. A contact may
  appear again when its state changes, or when a run is repeated after a crash; the last
  line for an id is its state.
- `leads.jsonl`: one `ReferredLead` a line, for sales to follow up.

Each call appends whole lines and flushes them before returning, so a reader never sees
half a record from a finished call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from integrations.crm.base import ReferredLead
from integrations.crm.http import WriteResult

CONTACTS_FILE = "contacts.jsonl"
LEADS_FILE = "leads.jsonl"


class FileCrmWriter:
    """A CrmWriter over a folder (created on first write)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"FileCrmWriter({str(self.folder)!r})"

    def close(self) -> None:
        """Nothing stays open between calls."""

    def update_contacts(self, updates: Mapping[str, Mapping[str, Any]]) -> WriteResult:
        self._append(
            CONTACTS_FILE,
            [
                {"id": contact_id, "properties": dict(props)}
                for contact_id, props in updates.items()
            ],
        )
        return WriteResult(tuple(updates), {})

    def referred_lead(self, lead: ReferredLead) -> str | None:
        self._append(LEADS_FILE, [asdict(lead)])
        return None

    def _append(self, name: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(r, default=_plain, sort_keys=True) + "\n" for r in records)
        with (self.folder / name).open("a", encoding="utf-8") as out:
            out.write(lines)
            out.flush()


def _plain(value: object) -> str:
    if isinstance(value, Decimal | date | datetime):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
