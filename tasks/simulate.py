"""The demo's simulated shop: clicks, sign-ups, purchases and refunds from the synthetic
CRM, recorded through the same ingest path as real events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine, select

from db.engine import engine_for, transaction
from db.ingest import Click, record_clicks, record_events
from db.models import Customer, ReferralCode
from db.programs import Programs
from integrations.crm import synthetic
from referral.events import Event, EventAddress, EventCustomer
from tasks.crm import SYNTHETIC_SOURCE, batched

SHOP_SOURCE = "shop"


def to_event(item: synthetic.Signup | synthetic.Purchase | synthetic.Refund) -> Event:
    if isinstance(item, synthetic.Signup):
        person = item.customer
        return Event(
            id=item.event_id,
            type="signup",
            occurred_at=item.occurred_at,
            customer=EventCustomer(
                external_id=person.external_id,
                email=person.email,
                phone=person.phone,
                name=person.name,
                address=EventAddress(
                    line1=person.address_line1, postcode=person.postcode, country=person.country
                )
                if person.address_line1
                else None,
            ),
            referral_code=item.code,
            visitor_id=item.visitor_id,
            device_id=item.device_id,
            ip=item.ip,
            user_agent=item.user_agent,
        )
    if isinstance(item, synthetic.Purchase):
        return Event(
            id=item.event_id,
            type="purchase",
            occurred_at=item.occurred_at,
            customer=EventCustomer(external_id=item.customer_external_id),
            order_id=item.order_id,
            amount=item.amount_minor,
            currency=item.currency,
            referral_code=item.promo_code,
            payment_fingerprint=item.payment_fingerprint,
        )
    return Event(
        id=item.event_id,
        type="refund",
        occurred_at=item.occurred_at,
        customer=EventCustomer(external_id=item.customer_external_id),
        order_id=item.order_id,
        amount=item.amount_minor,
        currency=item.currency,
    )


@task(name="simulate-shop-activity", cache_policy=NO_CACHE)
def simulate_activity(
    database_url: str,
    program_slug: str,
    *,
    seed: int,
    now: datetime,
    pepper: bytes,
    batch_size: int,
) -> dict[str, int]:
    engine = engine_for(database_url)
    with transaction(engine) as session:
        program = Programs(session).get(program_slug)
        rows = session.execute(
            select(Customer.external_id, ReferralCode.code, Customer.email)
            .join(ReferralCode, ReferralCode.customer_id == Customer.id)
            .where(ReferralCode.program_id == program.id, ReferralCode.revoked_at.is_(None))
            .order_by(Customer.external_id)
        ).all()
    advocates = [
        synthetic.Advocate(
            external_id=ext, code=code, email=email or "", address_line1="", postcode=""
        )
        for ext, code, email in rows
    ]
    activity = synthetic.generate_activity(advocates, seed=seed, now=now)
    return record_activity(engine, activity, seed=seed, pepper=pepper, batch_size=batch_size)


def record_activity(
    engine: Engine,
    activity: Iterable[synthetic.ActivityEvent],
    *,
    seed: int,
    pepper: bytes,
    batch_size: int,
) -> dict[str, int]:
    """Record a synthetic activity stream through the ingest path, a batch a transaction."""
    counts = {"clicks": 0, "signups": 0, "purchases": 0, "refunds": 0}
    # A click's id is its place in the deterministic stream, so a re-run records it once.
    for chunk in batched(enumerate(activity), batch_size):
        clicks = [
            Click(
                code=i.code,
                channel=i.channel,
                visitor_id=i.visitor_id,
                device_id=i.device_id,
                ip=i.ip,
                user_agent=i.user_agent,
                occurred_at=i.occurred_at,
                event_id=f"sim-click-{seed}-{n}",
            )
            for n, i in chunk
            if isinstance(i, synthetic.Click)
        ]
        events = [to_event(i) for _, i in chunk if not isinstance(i, synthetic.Click)]
        with transaction(engine) as session:
            record_clicks(session, clicks, pepper=pepper)
            record_events(
                session, events, source=SHOP_SOURCE, customer_source=SYNTHETIC_SOURCE, pepper=pepper
            )
        counts["clicks"] += len(clicks)
        for event in events:
            counts[f"{event.type}s"] += 1
    return counts
