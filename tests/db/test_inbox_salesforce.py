"""Salesforce outbound messages are unsigned, so process-inbox acts only on what Salesforce
itself says when asked again: the named record is re-read and the customer refreshed."""

from __future__ import annotations

from sqlalchemy import select

from config.settings import CrmSettings
from db import inbox
from db.models import Customer, InboxEvent
from tasks import inbox as inbox_tasks
from tests.integrations.test_salesforce_connector import NOW, FakeSalesforce, connect


def _outbound(session, record_id: str, claimed_email: str) -> None:
    inbox.accept(
        session,
        [
            inbox.Received(
                "salesforce",
                f"04l5A00000Gq1dR-{record_id}",
                "salesforce.Contact",
                {
                    "organization_id": "00D000000000062EAA",
                    "sobject_type": "Contact",
                    "record_id": record_id,
                    # What the unsigned message claims: never applied as it stands.
                    "fields": {"Email": claimed_email},
                },
            )
        ],
    )


def _run(session, crm):
    return inbox_tasks.inbox_batch(
        session, 10, flow_run_id=None, pepper=b"p", customer_source="crm", region="US", crm=crm
    )


def test_the_record_is_read_again_and_only_salesforces_answer_is_applied(session, monkeypatch):
    org = FakeSalesforce()
    record_id = org.add(1, NOW, Email="real@example.com")
    monkeypatch.setattr(inbox_tasks, "open_connector", lambda *a, **k: connect(org))
    _outbound(session, record_id, claimed_email="forged@example.com")
    result = _run(session, CrmSettings(provider="salesforce"))
    assert result["processed"] == 1
    emails = set(session.scalars(select(Customer.email)))
    assert emails == {"real@example.com"}
    assert session.scalar(select(InboxEvent.status)) == "processed"


def test_without_the_salesforce_connector_the_message_is_kept_and_says_why(session):
    _outbound(session, "0035e0000000001AAA", claimed_email="x@example.com")
    result = _run(session, CrmSettings())
    assert result["ignored"] == 1
    status, error = session.execute(select(InboxEvent.status, InboxEvent.error)).one()
    assert status == "ignored" and "REFERRAL_CRM__PROVIDER=salesforce" in error
    assert session.scalar(select(Customer.id)) is None
