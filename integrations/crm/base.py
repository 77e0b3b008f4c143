"""What every CRM connector offers: batches of customers and events since a cursor.

A connector reads; it never writes to our database. `tasks.crm.sync_batch` applies a batch
and moves the source's watermark to the batch's cursor in the same transaction, and the
next sync passes that cursor back as `since`. So a cursor is opaque to everyone but the
connector that made it, and must say "everything up to here is in", never more.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrations.crm.synthetic import CustomerRecord
from referral.events import Event

# A CRM contact already mapped onto customer columns (`email`, `segment`, `nps_score`, ...),
# for connectors that have no CustomerRecord to give. `tasks.crm.contact_row` completes it.
Contact = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CrmBatch:
    """Customers and events to apply together; `cursor` is where the next pull starts."""

    cursor: str
    records: Sequence[CustomerRecord | Contact] = field(default_factory=tuple)
    events: Sequence[Event] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.records) + len(self.events)


class CrmConnector(Protocol):
    @property
    def name(self) -> str:
        """The source: the watermark's key and the `source` of the events' conversions."""
        ...

    @property
    def customer_source(self) -> str:
        """Whose external ids the records and events' customers carry (customers.source)."""
        ...

    def pull(self, since: str | None) -> Iterator[CrmBatch]:
        """Everything after `since` (None: from the beginning), a bounded batch at a time,
        in order; each batch's cursor covers it and every batch before it."""
        ...


class CrmReadError(ValueError):
    """A source's data cannot be read. The message names where (file, line, field) and
    never quotes the data, which holds personal details."""
