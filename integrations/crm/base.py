"""What every CRM connector offers: batches of customers and events since a cursor, and
(CrmWriter) the write-back of referral state and referred leads.

A connector reads; it never writes to our database. `tasks.crm.sync_batch` applies a batch
and moves the source's watermark to the batch's cursor in the same transaction, and the
next sync passes that cursor back as `since`. So a cursor is opaque to everyone but the
connector that made it, and must say "everything up to here is in", never more.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from integrations.crm.http import WriteResult
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


@dataclass(frozen=True, slots=True)
class ReferredLead:
    """A referred customer who just signed up, for a sales rep to follow up. Ids are the
    CRM's own (customers.external_id); `referrer_name` is for the rep, never for logs."""

    referral_id: int
    contact_id: str
    referrer_contact_id: str
    referrer_name: str | None
    program: str
    owner_id: str


class CrmWriter(Protocol):
    """What the CRM is told back: contact properties, and referred leads for sales."""

    def update_contacts(self, updates: Mapping[str, Mapping[str, Any]]) -> WriteResult:
        """Set properties on contacts by id; refused contacts are reported, not raised."""
        ...

    def referred_lead(self, lead: ReferredLead) -> str | None:
        """Hand the lead to its owner; the provider's id of what was made, if any."""
        ...

    def close(self) -> None: ...


class CrmReadError(ValueError):
    """A source's data cannot be read. The message names where (file, line, field) and
    never quotes the data, which holds personal details."""
