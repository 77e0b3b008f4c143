"""The fraud rules' facts for a batch's new referrals: read in a fixed number of queries,
then handed out referral by referral in time order, so counts made inside the batch (the
advocate's fifth referral this hour) see the referrals created before them."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from sqlalchemy.orm import Session

from db import fraud_facts as q
from db.statements import read_together
from referral.fraud import ReferralFacts
from referral.fraud.config import FraudConfig
from referral.fraud.facts import CustomerFacts
from referral.fraud.normalize import email_keys, name_key

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_TIME = itemgetter(0)  # of a (time, customer) use


@dataclass(frozen=True, slots=True)
class Candidate:
    """A referral about to be made: who referred whom, when, under which rules."""

    program_id: int
    referrer_id: int
    referee_id: int
    referred_at: datetime
    promo_code: str | None  # typed at checkout, when that is how the referral came about
    config: FraudConfig
    landing_referrer_host: str | None = None  # where the referee's click came from


class FraudFactsReader:
    def __init__(self, session: Session, candidates: Sequence[Candidate]) -> None:
        self._customers: dict[int, CustomerFacts] = {}
        if not candidates:
            return
        referrers = {c.referrer_id for c in candidates}
        referees = {c.referee_id for c in candidates}
        programs = {c.program_id for c in candidates}
        first = min(c.referred_at for c in candidates)
        last = max(c.referred_at for c in candidates)
        everyone = referrers | referees
        widest = max(c.config.coupons.window_hours for c in candidates)
        codes = {c.promo_code for c in candidates if c.promo_code}
        customers = q.customers(session, everyone)
        seen = q.seen_with(session, everyone)
        promo = q.promo_uses(
            session, codes, first - timedelta(hours=widest), last + timedelta(hours=widest)
        )
        pace = q.advocate_pace(session, programs, referrers, first - _DAY)
        rewards = q.referrer_rewards_last_30_days(session, referrers)
        # Three rounds, in each of which the server works while this side does: the customer
        # rows first; then, while the server finds what they were seen with and counts the
        # promo uses, referrals and rewards, they become profiles with their keys made; then,
        # while it counts the sign-ups on the referees' devices, every customer's facts.
        (customer_rows,) = read_together(session, [customers.statement])
        self.profiles: dict[int, q.Profile] = {}

        def meet_customers() -> None:
            self.profiles = customers.parse(customer_rows)
            _make_keys(self.profiles.values())

        rows = read_together(
            session,
            [r.statement for r in (seen, promo, pace, rewards)],
            meanwhile=meet_customers,
        )
        q.add_seen(self.profiles, seen.parse(rows[0]))
        self.promo = promo.parse(rows[1])
        self.pace = pace.parse(rows[2])
        self.rewards = rewards.parse(rows[3])
        newcomers = [self.profiles[r] for r in referees if r in self.profiles]
        devices = {d for p in newcomers for d in p.device_ids}
        ips = {i for p in newcomers for i in p.ip_hashes}
        # Each referral counts the day up to its own instant: nothing after the last.
        sign_ups = q.sign_ups_from(session, devices, ips, first - _DAY, last)
        (rows,) = read_together(session, [sign_ups.statement], meanwhile=self._meet_everyone)
        self.sign_ups_by_device, self.sign_ups_by_ip = sign_ups.parse(rows)

    def facts(self, candidate: Candidate, *, email_seen_in_program: bool) -> ReferralFacts:
        """The facts of one referral; then it counts towards the ones after it."""
        c = candidate
        referrer, referee = self.customer(c.referrer_id), self.customer(c.referee_id)
        pace = self.pace.setdefault((c.program_id, c.referrer_id), q.Pace([], 0))
        insort(pace.recent, c.referred_at)
        pace.total += 1
        times = pace.recent
        referee_email = referee.email.normalized if referee.email else None
        return ReferralFacts(
            referrer_customer_id=c.referrer_id,
            referee_customer_id=c.referee_id,
            referrer_email_normalized=referrer.email.normalized if referrer.email else None,
            referee_email_normalized=referee_email,
            referee_email_domain=referee.email.domain if referee.email else None,
            referee_email_seen_in_program=email_seen_in_program,
            referrer=referrer,
            referee=referee,
            referrer_referrals_last_hour=_within(times, c.referred_at, _HOUR),
            referrer_referrals_last_day=_within(times, c.referred_at, _DAY),
            referrer_referrals_total=pace.total,
            referrer_rewards_last_30_days=self.rewards.get(c.referrer_id, 0),
            device_accounts_last_day=_busiest(
                self.sign_ups_by_device, referee.device_ids, c.referred_at, _DAY
            ),
            ip_accounts_last_day=_busiest(
                self.sign_ups_by_ip, referee.ip_hashes, c.referred_at, _DAY
            ),
            promo_code_redemptions=_strangers(
                self.promo.get(c.promo_code or "", []),
                c.referred_at,
                timedelta(hours=c.config.coupons.window_hours),
                c.referrer_id,
            ),
            landing_referrer_host=c.landing_referrer_host,
        )

    def _meet_everyone(self) -> None:
        for customer_id in self.profiles:
            self.customer(customer_id)

    def customer(self, customer_id: int) -> CustomerFacts:
        facts = self._customers.get(customer_id)
        if facts is None:
            facts = self._customers[customer_id] = self._build(customer_id)
        return facts

    def _build(self, customer_id: int) -> CustomerFacts:
        who = self.profiles.get(customer_id)
        if who is None:  # no such customer row: nothing to compare
            return CustomerFacts(customer_id)
        return CustomerFacts.stored(
            customer_id,
            external_id=who.external_id,
            email_normalized=who.email_normalized,
            phone_e164=who.phone_e164,
            name=who.name,
            device_ids=who.device_ids,
            payment_fingerprints=who.payment_fingerprints,
            address_hashes=(who.address_hash,) if who.address_hash else (),
            ip_hashes=who.ip_hashes,
            ip_ua_hashes=who.ip_ua_hashes,
            country=who.country,
        )


def _make_keys(profiles: Iterable[q.Profile]) -> None:
    """The email and name keys, the dearest part of a customer's facts; they are cached, so
    building the facts later finds them made."""
    for profile in profiles:
        if profile.email_normalized:
            email_keys(profile.email_normalized)
        name_key(profile.name)


def _within(times: list[datetime], at: datetime, window: timedelta) -> int:
    """How many of the sorted instants fall in (at - window, at]: two bisections, however
    busy the advocate (a sum over the window made a farm's thousandth referral cost a
    thousand steps)."""
    return bisect_right(times, at) - bisect_right(times, at - window)


def _busiest(
    uses: q.Uses,
    keys: frozenset[str],
    at: datetime,
    window: timedelta,
) -> int:
    """The most distinct customers any one of `keys` brought in during (at - window, at]."""
    busiest = 0
    for key in keys:
        signed_up = uses.get(key)
        if signed_up:
            # Bisected, not scanned: an office network's list holds every sign-up of the day.
            first = bisect_right(signed_up, at - window, key=_TIME)
            last = bisect_right(signed_up, at, key=_TIME)
            busiest = max(busiest, len({customer for _, customer in signed_up[first:last]}))
    return busiest


def _strangers(
    uses: list[tuple[datetime, int]], at: datetime, window: timedelta, owner: int
) -> int:
    """Distinct customers other than the code's owner who typed it within `window` either
    side of `at`: the uses already recorded after a referral count too, so the first
    strangers of a leak are caught with the rest."""
    first = bisect_left(uses, at - window, key=_TIME)
    last = bisect_right(uses, at + window, key=_TIME)
    return len({c for _, c in uses[first:last] if c != owner})
