"""Addresses that must never be messaged on a channel: opt-outs, bounces, complaints."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from db.models import Customer, Suppression
from db.statements import insert_ignore
from referral.delivery import suppression_address


def suppress(session: Session, channel: str, address: str, reason: str) -> None:
    """Idempotent: a second STOP changes nothing, and the first reason is kept."""
    session.execute(
        insert_ignore(session, Suppression).values(
            channel=channel, address=address, reason=reason[:64]
        )
    )


def unsuppress(session: Session, channel: str, address: str) -> int:
    """The recipient opted back in (e.g. texted START)."""
    result = session.execute(
        delete(Suppression).where(Suppression.channel == channel, Suppression.address == address)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def opt_out(session: Session, customer_id: int, channel: str, reason: str) -> bool:
    """The customer no longer wants `channel`: consent off and the current address on the
    suppression list, which a later CRM sync that sets consent again does not undo.
    False when there is no such customer."""
    flag = {"email": Customer.consent_email, "sms": Customer.consent_sms}.get(
        channel, Customer.consent_whatsapp
    )
    customer = session.get(Customer, customer_id)
    if customer is None:
        return False
    session.execute(
        update(Customer).where(Customer.id == customer_id).values({flag: False}),
        execution_options={"synchronize_session": False},
    )
    address = customer.email if channel == "email" else customer.phone_e164
    if address:
        suppress(session, channel, suppression_address(channel, address), reason)
    return True
