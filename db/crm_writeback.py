"""The write-back's reads and writes: who a CRM should hear about, their referral profile,
what the CRM was last told, and the referred leads for sales, set-based per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, exists, func, literal, select, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from db.engine import is_postgres
from db.models import (
    CrmPush,
    Customer,
    LedgerEntry,
    OutboxMessage,
    Program,
    Referral,
    ReferralCode,
)
from db.statements import among
from db.types import seconds_from_now, utcnow
from referral.crm_profile import SUCCESSFUL_STATUSES, ReferralProfile, main_balance

_DAY = 86_400
# A lead the fraud checks stopped, or that ended, is no lead for sales.
_NOT_A_LEAD = ("flagged", "rejected", "voided")
# Ledger accounts are `customer:<id>:<kind>`; money held is store credit and payouts owed.
_MONEY_KINDS = ("credit", "payable")


@dataclass(frozen=True, slots=True)
class Contact:
    customer_id: int
    external_id: str
    currency: str | None


def involved_contacts(session: Session, source: str, after: int, limit: int) -> list[Contact]:
    """Customers of the CRM `source` with any part in a program (a code, a referral either
    way, a ledger entry), by id after `after`: the only ones with something to write back."""
    involved = union(
        select(ReferralCode.customer_id.label("id")),
        select(Referral.referee_id),
        select(Referral.referrer_id),
        select(LedgerEntry.customer_id).where(LedgerEntry.customer_id.is_not(None)),
    ).subquery()
    rows = session.execute(
        select(Customer.id, Customer.external_id, Customer.currency)
        .where(
            Customer.source == source,
            Customer.id > after,
            Customer.id.in_(select(involved.c.id).where(involved.c.id > after)),
        )
        .order_by(Customer.id)
        .limit(limit)
    )
    return [Contact(*row) for row in rows]


def profiles(session: Session, contacts: Sequence[Contact]) -> list[ReferralProfile]:
    ids = [c.customer_id for c in contacts]
    if not ids:
        return []
    codes: dict[int, str] = {}
    for customer_id, code in session.execute(
        select(ReferralCode.customer_id, ReferralCode.code)
        .where(among(session, ReferralCode.customer_id, ids), ReferralCode.revoked_at.is_(None))
        .order_by(ReferralCode.id.desc())
    ):
        codes[customer_id] = code  # the oldest live code wins: it has been shared longest

    referrer = aliased(Customer)
    referred: dict[int, tuple[str, str]] = {}
    for referee_id, status, referrer_external_id in session.execute(
        select(Referral.referee_id, Referral.status, referrer.external_id)
        .join(referrer, referrer.id == Referral.referrer_id)
        .where(among(session, Referral.referee_id, ids))
        .order_by(Referral.id)
    ):
        referred[referee_id] = (status, referrer_external_id)  # the latest referral wins

    successes = dict(
        session.execute(
            select(Referral.referrer_id, func.count())
            .where(
                among(session, Referral.referrer_id, ids),
                Referral.status.in_(SUCCESSFUL_STATUSES),
            )
            .group_by(Referral.referrer_id)
        )
        .tuples()
        .all()
    )

    money: dict[int, dict[str, int]] = defaultdict(dict)
    points: dict[int, int] = defaultdict(int)
    for customer_id, account, currency, total in session.execute(
        select(
            LedgerEntry.customer_id,
            LedgerEntry.account,
            LedgerEntry.currency,
            func.sum(LedgerEntry.amount_minor),
        )
        .where(among(session, LedgerEntry.customer_id, ids))
        .group_by(LedgerEntry.customer_id, LedgerEntry.account, LedgerEntry.currency)
    ):
        kind = account.rsplit(":", 1)[-1]
        if kind in _MONEY_KINDS:
            held = money[customer_id]
            held[currency] = held.get(currency, 0) + int(total or 0)
        elif kind == "points":
            points[customer_id] += int(total or 0)

    result = []
    for contact in contacts:
        status, referred_by = referred.get(contact.customer_id, (None, None))
        balance, currency = main_balance(money.get(contact.customer_id, {}), contact.currency)
        result.append(
            ReferralProfile(
                customer_id=contact.customer_id,
                contact_id=contact.external_id,
                referral_status=status,
                referred_by=referred_by,
                referral_code=codes.get(contact.customer_id),
                successful_referrals=int(successes.get(contact.customer_id, 0)),
                reward_balance_minor=balance,
                reward_currency=currency,
                reward_points=points.get(contact.customer_id, 0),
            )
        )
    return result


def last_pushed(session: Session, target: str, customer_ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(
        select(CrmPush.customer_id, CrmPush.fingerprint).where(
            CrmPush.target == target, among(session, CrmPush.customer_id, customer_ids)
        )
    )
    return dict(rows.tuples().all())


def record_pushed(session: Session, target: str, fingerprints: Mapping[int, str]) -> None:
    if not fingerprints:
        return
    insert = pg_insert if is_postgres(session) else sqlite_insert
    statement = insert(CrmPush).values(
        [{"target": target, "customer_id": i, "fingerprint": f} for i, f in fingerprints.items()]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["target", "customer_id"],
            set_={"fingerprint": statement.excluded.fingerprint, "pushed_at": utcnow()},
        )
    )


def lead_key(target: str, referral_id: int | str) -> str:
    return f"crm-lead:{target}:{referral_id}"


def fresh_leads(
    session: Session, *, target: str, source: str, max_age_days: int, limit: int
) -> list[dict[str, Any]]:
    """Referrals whose referee (a contact of `source`) signed up in the last `max_age_days`
    and has no lead row for `target` yet, as payloads for the outbox. A lead flagged for
    review waits; once approved it is picked up if it is still fresh."""
    referee, referrer = aliased(Customer), aliased(Customer)
    key = literal(lead_key(target, "")) + cast(Referral.id, String)
    rows = session.execute(
        select(
            Referral.id,
            Referral.referee_id,
            referee.external_id,
            referrer.external_id,
            referrer.name,
            Program.slug,
        )
        .join(referee, referee.id == Referral.referee_id)
        .join(referrer, referrer.id == Referral.referrer_id)
        .join(Program, Program.id == Referral.program_id)
        .where(
            referee.source == source,
            Referral.created_at > seconds_from_now(-max_age_days * _DAY),
            Referral.status.not_in(_NOT_A_LEAD),
            ~exists().where(OutboxMessage.idempotency_key == key),
        )
        .order_by(Referral.id)
        .limit(limit)
    )
    return [
        {
            "referral_id": referral_id,
            "customer_id": referee_id,
            "contact_id": contact_id,
            "referrer_contact_id": referrer_contact_id,
            "referrer_name": referrer_name,
            "program": program,
        }
        for referral_id, referee_id, contact_id, referrer_contact_id, referrer_name, program in rows
    ]
