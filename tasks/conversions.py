"""process_conversions, one batch at a time: read the facts in a few set-based queries,
decide with the pure rules of referral/, write the results in a few statements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from db import conversions as q
from db.engine import engine_for, transaction
from db.programs import LoadedProgram, Programs
from db.rewards import void_referrals
from referral.attribution import TouchPoint, attribute
from referral.contacts import email_domain
from referral.fraud import Decision, ReferralFacts, RuleSet, decide
from referral.fraud.basic import BasicRuleSet
from referral.validation import Outcome, PurchaseFacts, validate_purchase
from tasks.retry import retry_on_transient

MAX_WINDOW_DAYS = 365


@dataclass
class BatchSummary:
    conversions: int = 0
    referrals_created: int = 0
    qualified: int = 0
    flagged: int = 0
    rejected: int = 0
    voided: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: BatchSummary) -> None:
        for name in (
            "conversions",
            "referrals_created",
            "qualified",
            "flagged",
            "rejected",
            "voided",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for outcome, n in other.outcomes.items():
            self.outcomes[outcome] += n


class _Programs:
    """Current rules for new referrals, and each referral's own version for old ones."""

    def __init__(self, session: Session) -> None:
        self._programs = Programs(session)
        self._by_id: dict[int, LoadedProgram] = {}
        self._by_version: dict[int, LoadedProgram] = {}
        for summary in self._programs.list():
            loaded = self._programs.get(summary.slug)
            self._by_id[loaded.id] = loaded
            self._by_version[loaded.version_id] = loaded

    def current(self, program_id: int) -> LoadedProgram:
        return self._by_id[program_id]

    def version(self, version_id: int) -> LoadedProgram:
        if version_id not in self._by_version:
            self._by_version[version_id] = self._programs.by_version_id(version_id)
        return self._by_version[version_id]


def process_batch(session: Session, batch_size: int, rules: RuleSet) -> BatchSummary:
    summary = BatchSummary()
    batch = q.claim_unprocessed(session, batch_size)
    if not batch:
        return summary
    summary.conversions = len(batch)
    programs = _Programs(session)
    since = q.window_start(batch, MAX_WINDOW_DAYS)
    touches = q.touches_for(
        session,
        {c.visitor_id for c in batch if c.visitor_id},
        {c.device_id for c in batch if c.device_id},
        since,
    )
    touches_by_visitor: dict[str, list[q.TouchRow]] = defaultdict(list)
    touches_by_device: dict[str, list[q.TouchRow]] = defaultdict(list)
    for touch in touches:
        if touch.visitor_id:
            touches_by_visitor[touch.visitor_id].append(touch)
        if touch.device_id:
            touches_by_device[touch.device_id].append(touch)
    promo = q.code_owners(session, {c.referral_code for c in batch if c.referral_code})
    customer_ids = {c.customer_id for c in batch}
    referrals: dict[tuple[int, int], q.ReferralState] = {
        (r.program_id, r.referee_id): r for r in q.referrals_of(session, customer_ids)
    }
    referrer_ids = {t.advocate_customer_id for t in touches} | {
        o.customer_id for o in promo.values()
    }
    referrer_ids |= {r.referrer_id for r in referrals.values()}
    successes = q.successful_referral_counts(session, referrer_ids)
    emails = q.emails_of(session, referrer_ids)
    seen_emails = q.referee_emails_in_programs(
        session,
        {t.program_id for t in touches} | {o.program_id for o in promo.values()},
        {c.email_normalized for c in batch if c.email_normalized},
    )
    first_purchase = q.first_purchases(session, customer_ids)
    refund_orders = {c.order_id for c in batch if c.kind == "refund" and c.order_id}
    originals = q.purchases_by_order(session, refund_orders)
    refunded = q.refunded_totals(session, refund_orders)

    new_referrals: list[dict[str, Any]] = []
    signals_for: dict[tuple[int, int], list[Any]] = {}
    outcomes: list[dict[str, Any]] = []
    status_changes: dict[int, dict[str, Any]] = {}
    to_void: list[int] = []
    pending_new: dict[tuple[int, int], dict[str, Any]] = {}  # (program, referee) -> row

    def outcome(conversion: q.PendingConversion, text: str, referral_id: int | None) -> None:
        outcomes.append({"b_id": conversion.id, "outcome": text, "referral_id": referral_id})
        summary.outcomes[text] += 1

    for conversion in batch:
        if conversion.kind == "refund":
            original = originals.get(conversion.order_id or "")
            hit = [
                r
                for r in referrals.values()
                if original and r.qualifying_conversion_id == original[0]
            ]
            if not hit:
                outcome(conversion, "refund_unreferred", None)
                continue
            referral = hit[0]
            loaded = programs.version(referral.program_version_id)
            remaining = original[1] - refunded.get(conversion.order_id or "", 0) if original else 0
            if remaining < max(loaded.config.minimum_purchase_minor, 1):
                to_void.append(referral.id)
                referral.status = "voided"
                summary.voided += 1
                outcome(conversion, "refund_voided_referral", referral.id)
            else:
                outcome(conversion, "refund_partial_kept", referral.id)
            continue

        # Attribution for customers not yet referred, by promo code or by earlier clicks.
        candidates: dict[int, list[TouchPoint]] = defaultdict(list)
        for touch in touches_by_visitor.get(
            conversion.visitor_id or "", []
        ) + touches_by_device.get(conversion.device_id or "", []):
            if touch.occurred_at <= conversion.occurred_at:
                candidates[touch.program_id].append(
                    TouchPoint(touch.code_id, touch.advocate_customer_id, touch.occurred_at)
                )
        owner = promo.get(conversion.referral_code or "")
        attributed_by: dict[int, str] = {}
        chosen: dict[int, TouchPoint] = {}
        if owner and not owner.revoked:
            chosen[owner.program_id] = TouchPoint(
                owner.code_id, owner.customer_id, conversion.occurred_at
            )
            attributed_by[owner.program_id] = "promo_code"
        for program_id, points in candidates.items():
            if program_id in chosen:
                continue
            config = programs.current(program_id).config
            result = attribute(
                list(set(points)),
                config.attribution.model,
                conversion.occurred_at,
                config.attribution.window_days,
            )
            if result is not None:
                chosen[program_id] = TouchPoint(
                    result.code_id, result.advocate_customer_id, conversion.occurred_at
                )
                attributed_by[program_id] = "link"

        for program_id, point in chosen.items():
            key = (program_id, conversion.customer_id)
            if key in referrals or key in pending_new:
                continue
            loaded = programs.current(program_id)
            if not loaded.config.is_active(conversion.occurred_at):
                outcome(conversion, "program_inactive", None)
                continue
            facts = ReferralFacts(
                referrer_customer_id=point.advocate_customer_id,
                referee_customer_id=conversion.customer_id,
                referrer_email_normalized=emails.get(point.advocate_customer_id),
                referee_email_normalized=conversion.email_normalized,
                referee_email_domain=email_domain(conversion.email_normalized or "") or None,
                referee_email_seen_in_program=(program_id, conversion.email_normalized or "")
                in seen_emails,
            )
            signals = rules.evaluate(facts)
            if point.advocate_customer_id == conversion.customer_id:
                outcome(conversion, "self_referral", None)
                continue
            decision = decide(signals)
            status = {
                Decision.APPROVE: "pending",
                Decision.REVIEW: "flagged",
                Decision.REJECT: "rejected",
            }[decision]
            row: dict[str, Any] = {
                "program_id": program_id,
                "program_version_id": loaded.version_id,
                "referrer_id": point.advocate_customer_id,
                "referee_id": conversion.customer_id,
                "code_id": point.code_id,
                "attribution_model": loaded.config.attribution.model.value,
                "attributed_by": attributed_by[program_id],
                "status": status,
                "status_reason": ",".join(s.reason_code for s in signals) or None,
                "referred_at": conversion.occurred_at,
            }
            new_referrals.append(row)
            pending_new[key] = row
            signals_for[key] = signals
            if conversion.email_normalized:
                seen_emails.add((program_id, conversion.email_normalized))
            summary.flagged += status == "flagged"
            summary.rejected += status == "rejected"

        # Referrals made by this or an earlier batch need their ids before validation.
        if pending_new:
            ids = q.insert_referrals(session, new_referrals)
            summary.referrals_created += len(ids)
            for key, row in pending_new.items():
                if key in ids:
                    referrals[key] = q.ReferralState(
                        ids[key],
                        row["program_id"],
                        row["program_version_id"],
                        row["referrer_id"],
                        row["referee_id"],
                        row["status"],
                        row["referred_at"],
                        None,
                    )
            _store_signals(session, signals_for, ids)
            new_referrals.clear()
            pending_new.clear()
            signals_for.clear()

        mine = [r for (p, referee), r in referrals.items() if referee == conversion.customer_id]
        if conversion.kind in ("purchase", "renewal") and mine:
            for referral in mine:
                if referral.status not in ("pending", "flagged") or (
                    referral.qualifying_conversion_id is not None
                ):
                    continue
                loaded = programs.version(referral.program_version_id)
                key = (referral.program_id, referral.referrer_id)
                verdict = validate_purchase(
                    loaded.config,
                    PurchaseFacts(
                        amount_minor=conversion.amount_minor,
                        currency=conversion.currency or "",
                        occurred_at=conversion.occurred_at,
                        referred_at=referral.referred_at,
                        referee_ordered_before_referral=_ordered_before(
                            conversion, referral, first_purchase
                        ),
                        referrer_successful_referrals=successes.get(key, 0),
                    ),
                )
                if verdict is Outcome.QUALIFIED:
                    referral.qualifying_conversion_id = conversion.id
                    if referral.status == "pending":
                        referral.status = "qualified"
                        successes[key] = successes.get(key, 0) + 1
                        summary.qualified += 1
                    status_changes[referral.id] = {
                        "b_id": referral.id,
                        "status": referral.status,
                        "status_reason": None,
                        "qualifying_conversion_id": conversion.id,
                    }
                elif verdict.ends_referral:
                    referral.status = "voided"
                    summary.voided += 1
                    status_changes[referral.id] = {
                        "b_id": referral.id,
                        "status": "voided",
                        "status_reason": verdict.value,
                    }
                outcome(conversion, verdict.value, referral.id)
            continue
        if conversion.kind == "signup":
            made = [r for r in mine if r.referred_at == conversion.occurred_at]
            outcome(
                conversion,
                "referral_created" if made else "signup_unreferred",
                made[0].id if made else None,
            )
        else:
            outcome(conversion, "purchase_unreferred", None)

    q.set_referral_status(session, list(status_changes.values()))
    if to_void:
        void_referrals(session, to_void, reason="refund")
    q.mark_processed(session, outcomes)
    return summary


def _ordered_before(
    conversion: q.PendingConversion, referral: q.ReferralState, first_purchase: dict[int, Any]
) -> bool:
    """Was the referee already a customer when referred: by the CRM's record or ours."""
    if conversion.first_order_at is not None and conversion.first_order_at < referral.referred_at:
        return True
    earliest = first_purchase.get(conversion.customer_id)
    return earliest is not None and earliest < referral.referred_at


def _store_signals(
    session: Session, signals_for: dict[tuple[int, int], list[Any]], ids: dict[tuple[int, int], int]
) -> None:
    from db.rewards import insert_fraud_signals

    rows = [
        {
            "referral_id": ids[key],
            "rule": s.rule,
            "severity": s.severity.value,
            "score": s.score,
            "reason_code": s.reason_code,
            "evidence": s.evidence,
        }
        for key, signals in signals_for.items()
        if key in ids
        for s in signals
    ]
    insert_fraud_signals(session, rows)


@task(
    name="process-conversions-batch",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[1, 5],
    retry_condition_fn=retry_on_transient,
)
def process_conversions_batch(database_url: str, batch_size: int) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        summary = process_batch(session, batch_size, BasicRuleSet())
    return {
        "conversions": summary.conversions,
        "referrals_created": summary.referrals_created,
        "qualified": summary.qualified,
        "flagged": summary.flagged,
        "rejected": summary.rejected,
        "voided": summary.voided,
        "outcomes": dict(summary.outcomes),
    }
