"""Telling the CRM what the engine knows: referral state as contact properties, and referred
leads for sales, a batch per task run.

Properties are set to the current values (idempotent), pushed only for contacts whose values
changed since the CRM was last told, and recorded as told only after the CRM accepted them:
a crash in between pushes the same values again, which changes nothing there.

A lead is an outbox row (kind `crm_lead`, channel = the CRM) keyed by the referral, so it is
handed over once; creating a Salesforce Task is not idempotent, so a timeout after sending
sets the row aside for reconciliation instead of creating a second Task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from prefect import task
from prefect.cache_policies import NO_CACHE

from config.settings import CrmSettings, SettingsError
from db import outbox as q
from db.crm_writeback import (
    fresh_leads,
    involved_contacts,
    last_pushed,
    lead_key,
    profiles,
    record_pushed,
)
from db.engine import engine_for, transaction
from integrations.crm.base import CrmWriter, ReferredLead
from integrations.crm.fields import HUBSPOT_WRITEBACK_PROPERTIES, SALESFORCE_WRITEBACK_FIELDS
from integrations.crm.http import (
    CrmAmbiguousError,
    CrmAuthError,
    CrmError,
    CrmTransientError,
)
from integrations.crm.http import is_transient as crm_is_transient
from integrations.crm.outgoing import FileCrmWriter
from referral.crm_profile import PROPERTIES, fingerprint, properties, unknown_properties
from tasks.base import is_transient as db_is_transient
from tasks.crm import open_connector
from tasks.outbox import AUTH_PAUSE_SECONDS, BACKOFF_SECONDS, LEASE_SECONDS, MAX_ATTEMPTS

LEAD_KIND: Final = "crm_lead"
WRITEBACK_FOLDER: Final = "crm-writeback"


@dataclass(frozen=True, slots=True)
class Target:
    """Where write-back goes: `name` keys what was pushed and the lead rows' channel;
    `source` is whose contacts those are (customers.source)."""

    name: str
    source: str
    property_names: Mapping[str, str]
    lead_owner_id: str | None

    @property
    def takes_leads(self) -> bool:
        # The file CRM writes leads down for whoever reads the folder; a real CRM needs
        # someone to own them.
        return self.name == "files" or self.lead_owner_id is not None


def target_of(crm: CrmSettings) -> Target:
    name = {"file": "files"}.get(crm.provider, crm.provider)
    defaults: Mapping[str, str] = {
        "hubspot": HUBSPOT_WRITEBACK_PROPERTIES,
        "salesforce": SALESFORCE_WRITEBACK_FIELDS,
    }.get(name, {p: p for p in PROPERTIES})
    unknown = unknown_properties(crm.writeback_properties)
    if unknown:
        raise SettingsError(
            f"REFERRAL_CRM__WRITEBACK_PROPERTIES: no property named {', '.join(unknown)}; "
            f"properties: {', '.join(PROPERTIES)}"
        )
    source = "crm" if name == "files" else name
    return Target(name, source, {**defaults, **crm.writeback_properties}, crm.lead_owner_id)


def open_writer(crm: CrmSettings, data_dir: Path, batch_size: int) -> CrmWriter:
    if crm.provider == "file":
        return FileCrmWriter(data_dir / WRITEBACK_FOLDER)
    writer: Any = open_connector(
        crm.provider, folder=data_dir / WRITEBACK_FOLDER, batch_size=batch_size, crm=crm
    )
    return writer  # HubSpot and Salesforce connectors are CrmWriters as well


def _retry_condition(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except Exception as exc:
        return db_is_transient(exc) or crm_is_transient(exc)
    return False


def writeback_task(name: str) -> Any:
    """Like a database task, and a CRM that is busy or rate-limiting us is tried again."""
    return task(
        name=name,
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=[5, 30],
        retry_condition_fn=_retry_condition,
    )


@writeback_task("push-crm-profiles-batch")
def push_profiles_batch(
    database_url: str, writer: CrmWriter, target: Target, *, after: int, batch_size: int
) -> dict[str, Any]:
    """One batch of contacts after customer id `after`: the changed ones are pushed."""
    engine = engine_for(database_url)
    with transaction(engine) as session:
        contacts = involved_contacts(session, target.source, after, batch_size)
        current = profiles(session, contacts)
        told = last_pushed(session, target.name, [c.customer_id for c in contacts])
    changed: dict[str, dict[str, Any]] = {}
    fingerprints: dict[str, tuple[int, str]] = {}
    for profile in current:
        values = properties(profile, target.property_names)
        mark = fingerprint(values)
        if told.get(profile.customer_id) != mark and values:
            changed[profile.contact_id] = values
            fingerprints[profile.contact_id] = (profile.customer_id, mark)
    result = writer.update_contacts(changed) if changed else None
    accepted = {fingerprints[i][0]: fingerprints[i][1] for i in (result.updated if result else ())}
    if accepted:
        with transaction(engine) as session:
            record_pushed(session, target.name, accepted)
    return {
        "contacts": len(contacts),
        "pushed": len(accepted),
        "refused": len(result.failed) if result else 0,
        "unchanged": len(contacts) - len(changed),
        "cursor": contacts[-1].customer_id if len(contacts) == batch_size else None,
    }


@writeback_task("queue-referred-leads")
def queue_referred_leads(
    database_url: str, target: Target, *, max_age_days: int, batch_size: int
) -> int:
    """Outbox rows for referred sign-ups the CRM has not been handed yet."""
    if not target.takes_leads:
        return 0
    queued = 0
    while True:
        with transaction(engine_for(database_url)) as session:
            leads = fresh_leads(
                session,
                target=target.name,
                source=target.source,
                max_age_days=max_age_days,
                limit=batch_size,
            )
            q.enqueue(
                session,
                [
                    {
                        "idempotency_key": lead_key(target.name, lead["referral_id"]),
                        "kind": LEAD_KIND,
                        "channel": target.name,
                        "customer_id": lead["customer_id"],
                        "payload": lead,
                    }
                    for lead in leads
                ],
            )
        queued += len(leads)
        if len(leads) < batch_size:
            return queued


@writeback_task("hand-over-referred-leads")
def hand_over_leads_batch(
    database_url: str, writer: CrmWriter, target: Target, *, worker: str, batch_size: int
) -> dict[str, int]:
    """Claim a batch of lead rows for this CRM and hand each to its owner. A CRM that
    refuses our credentials or is down gets the rest of the batch back unsent."""
    engine = engine_for(database_url)
    with transaction(engine) as session:
        claimed = q.claim_due(
            session,
            limit=batch_size,
            worker=worker,
            lease_seconds=LEASE_SECONDS,
            kinds=(LEAD_KIND,),
            channels=(target.name,),
        )
    sent: list[q.Sent] = []
    failures: list[q.Failure] = []
    deferrals: list[q.Deferral] = []
    refused: CrmAuthError | None = None
    for message in claimed:
        if deferrals:
            deferrals.append(q.Deferral(message.id, deferrals[0].seconds, deferrals[0].reason))
            continue
        try:
            made = writer.referred_lead(_lead(message.payload, target))
        except CrmAuthError as error:
            refused = error
            deferrals.append(q.Deferral(message.id, AUTH_PAUSE_SECONDS, f"paused: {error}"))
        except CrmTransientError as error:
            wait = max(error.retry_after or 0, BACKOFF_SECONDS)
            deferrals.append(q.Deferral(message.id, wait, f"paused: {error}"))
        except CrmAmbiguousError as error:
            failures.append(q.Failure(message.id, message.attempts, str(error), ambiguous=True))
        except CrmError as error:
            failures.append(q.Failure(message.id, message.attempts, str(error), permanent=True))
        else:
            sent.append(q.Sent(message.id, made or message.idempotency_key))
    with transaction(engine) as session:
        q.mark_sent(session, sent)
        dead = q.mark_failed(
            session, failures, max_attempts=MAX_ATTEMPTS, backoff_seconds=BACKOFF_SECONDS
        )
        q.defer(session, deferrals)
    if refused is not None:
        raise refused  # after the rows are handed back: someone must fix the credentials
    return {
        "claimed": len(claimed),
        "handed_over": len(sent),
        "reconcile": sum(f.ambiguous for f in failures),
        "dead": dead,
        "deferred": len(deferrals),
    }


def _lead(payload: Mapping[str, Any], target: Target) -> ReferredLead:
    return ReferredLead(
        referral_id=int(payload["referral_id"]),
        contact_id=str(payload["contact_id"]),
        referrer_contact_id=str(payload["referrer_contact_id"]),
        referrer_name=payload.get("referrer_name"),
        program=str(payload["program"]),
        owner_id=target.lead_owner_id or "unassigned",
    )
