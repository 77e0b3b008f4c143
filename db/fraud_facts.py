"""What the fraud rules need to know, read set-based for a batch of new referrals: who each
customer is, which devices, networks and cards they were seen with, and how busy their
advocate, device, network and promo code have been around the referral's time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from db.models import Conversion, Customer, Referral, RewardGrant
from db.statements import among
from db.types import seconds_from_now

_REWARD_WINDOW = timedelta(days=30)
T = TypeVar("T")
# Per device, network or promo code: (time, customer) of each use, in time order.
Uses = dict[str, list[tuple[datetime, int]]]


@dataclass(slots=True)
class Profile:
    """A customer as the rules see them: the customer row, and the devices, networks and
    cards their sign-ups and orders came with."""

    external_id: str  # qualified by its source: "crm:C123"
    email_normalized: str | None
    phone_e164: str | None
    name: str | None
    address_hash: str | None
    country: str | None
    device_ids: set[str] = field(default_factory=set)
    ip_hashes: set[str] = field(default_factory=set)
    ip_ua_hashes: set[str] = field(default_factory=set)
    payment_fingerprints: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """A statement and what its rows become. The reader sends several of these to the
    database at once (db.statements.read_together) and parses each one's rows as they come."""

    statement: Select[Any]
    parse: Callable[[Iterable[Any]], T]


def customers(session: Session, customer_ids: Collection[int]) -> Read[dict[int, Profile]]:
    """The customer rows, as profiles with nothing seen yet (`seen_with` adds that)."""
    statement = select(
        Customer.id,
        Customer.source,
        Customer.external_id,
        Customer.email_normalized,
        Customer.phone_e164,
        Customer.name,
        Customer.address_hash,
        Customer.country,
    ).where(among(session, Customer.id, customer_ids))
    return Read(statement, _customers_from)


def _customers_from(rows: Iterable[Any]) -> dict[int, Profile]:
    return {
        id_: Profile(f"{source}:{external}", email, phone, name, address, country)
        for id_, source, external, email, phone, name, address, country in rows
    }


def seen_with(session: Session, customer_ids: Collection[int]) -> Read[list[Any]]:
    """The distinct combinations of device, network, user agent and card among the
    customers' conversions; `add_seen` puts them into the profiles."""
    statement = (
        select(
            Conversion.customer_id,
            Conversion.device_id,
            Conversion.ip_hash,
            Conversion.ua_hash,
            Conversion.payment_fingerprint,
        )
        # A regular customer's hundred orders mostly repeat one device, network and card.
        .distinct()
        .where(among(session, Conversion.customer_id, customer_ids))
    )
    return Read(statement, list)


def add_seen(profiles: dict[int, Profile], seen: Iterable[Any]) -> None:
    for customer_id, device, ip, ua, card in seen:
        profile = profiles.get(customer_id)
        if profile is None:  # a conversion of a customer whose row is gone
            continue
        if device:
            profile.device_ids.add(device)
        if ip:
            profile.ip_hashes.add(ip)
            if ua:
                profile.ip_ua_hashes.add(f"{ip}:{ua}")
        if card:
            profile.payment_fingerprints.add(card)


@dataclass(slots=True)
class Pace:
    """An advocate's referrals in a program: the instant of each since the window's start,
    in time order (an instant repeats once per referral made at it), and how many there are
    in all."""

    recent: list[datetime]
    total: int


def advocate_pace(
    session: Session, program_ids: Collection[int], referrer_ids: Collection[int], since: datetime
) -> Read[dict[tuple[int, int], Pace]]:
    """One grouped read: referrals before `since` collapse into one row per advocate, the
    recent ones into one row per instant."""
    recent = case((Referral.referred_at >= since, Referral.referred_at))
    statement = (
        select(Referral.program_id, Referral.referrer_id, recent, func.count())
        .where(
            Referral.program_id.in_(sorted(program_ids)),
            among(session, Referral.referrer_id, referrer_ids),
        )
        .group_by(Referral.program_id, Referral.referrer_id, recent)
    )
    return Read(statement, _pace_from)


def _pace_from(rows: Iterable[Any]) -> dict[tuple[int, int], Pace]:
    found: dict[tuple[int, int], Pace] = {}
    for program_id, referrer_id, at, n in rows:
        pace = found.setdefault((program_id, referrer_id), Pace([], 0))
        pace.total += int(n)
        if at is not None:
            pace.recent.extend([at] * int(n))
    for pace in found.values():
        pace.recent.sort()
    return found


def referrer_rewards_last_30_days(
    session: Session, referrer_ids: Collection[int]
) -> Read[dict[int, int]]:
    statement = (
        select(RewardGrant.beneficiary_id, func.count())
        .where(
            among(session, RewardGrant.beneficiary_id, referrer_ids),
            RewardGrant.role == "referrer",
            RewardGrant.status.not_in(("rejected", "clawed_back")),
            RewardGrant.created_at > seconds_from_now(-_REWARD_WINDOW.total_seconds()),
        )
        .group_by(RewardGrant.beneficiary_id)
    )
    return Read(statement, lambda rows: {beneficiary: int(n) for beneficiary, n in rows})


def sign_ups_from(
    session: Session,
    devices: Collection[str],
    ip_hashes: Collection[str],
    since: datetime,
    until: datetime,
) -> Read[tuple[Uses, Uses]]:
    """Sign-ups from `since` to `until` by device and by network, (time, customer) in time
    order, for the devices and networks two customers or more signed up from in that time.

    One that brought in a single customer is under every limit (a limit is at least one
    account) and is left out: nearly every sign-up is the only one from its device, and
    handing those back cost more than the rest of the read."""
    sign_ups = union_all(
        _sign_ups(session, "device", Conversion.device_id, devices, since, until),
        _sign_ups(session, "ip", Conversion.ip_hash, ip_hashes, since, until),
    ).subquery()
    statement = (
        select(sign_ups.c.kind, sign_ups.c.value, sign_ups.c.at, sign_ups.c.customer)
        .where(sign_ups.c.shared)
        .order_by(sign_ups.c.at)
    )
    return Read(statement, _sign_ups_from)


def _sign_ups_from(rows: Iterable[Any]) -> tuple[Uses, Uses]:
    found: dict[str, Uses] = {"device": defaultdict(list), "ip": defaultdict(list)}
    for kind, value, at, customer in rows:
        found[kind][value].append((at, customer))
    return found["device"], found["ip"]


def _sign_ups(
    session: Session,
    kind: str,
    column: Any,
    values: Collection[str],
    since: datetime,
    until: datetime,
) -> Select[Any]:
    # A window over each value's few rows, not a second scan grouped by value.
    return select(
        literal(kind).label("kind"),
        column.label("value"),
        Conversion.occurred_at.label("at"),
        Conversion.customer_id.label("customer"),
        (
            func.min(Conversion.customer_id).over(partition_by=column)
            != func.max(Conversion.customer_id).over(partition_by=column)
        ).label("shared"),
    ).where(
        Conversion.kind == "signup",
        column.is_not(None),
        among(session, column, values),
        Conversion.occurred_at.between(since, until),
    )


def promo_uses(
    session: Session, codes: Collection[str], since: datetime, until: datetime
) -> Read[Uses]:
    """Sign-ups and orders that typed each promo code from `since` to `until`, in order.
    Only those that did not come through a referral link (no link cookie): a code carried
    in from the advocate's own link is sharing, not leakage."""
    statement = (
        select(Conversion.referral_code, Conversion.occurred_at, Conversion.customer_id)
        .where(
            Conversion.referral_code.is_not(None),
            among(session, Conversion.referral_code, codes),
            Conversion.kind.in_(("signup", "purchase")),
            Conversion.occurred_at.between(since, until),
            Conversion.visitor_id.is_(None),
        )
        .order_by(Conversion.occurred_at)
    )
    return Read(statement, _uses_from)


def _uses_from(rows: Iterable[Any]) -> Uses:
    uses: Uses = defaultdict(list)
    for code, at, customer_id in rows:
        uses[code].append((at, customer_id))
    return uses
