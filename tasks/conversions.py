"""process_conversions, one batch at a time: read the facts in a fixed number of set-based
queries, decide with the pure rules of referral/, write the results in a few statements.

Two passes over the batch, both in time order: the first attributes sign-ups and purchases
and decides the new referrals; the second validates purchases against them and the older
referrals and handles refunds. Every conversion gets exactly one outcome, and every new
referral is written once, as the batch left it (one INSERT for the batch)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db import conversions as q
from db.engine import engine_for, transaction
from db.programs import LoadedProgram, Programs
from db.reviews import backlog
from db.rewards import insert_fraud_signals, void_referrals
from referral.attribution import TouchPoint, attribute
from referral.fraud import Decision, RuleSet, Signal, decide
from referral.fraud.engine import FraudRuleSet
from referral.validation import Outcome, PurchaseFacts, validate_purchase
from tasks.base import collection_paused, database_task
from tasks.fraud_facts import Candidate, FraudFactsReader

MAX_WINDOW_DAYS = 365
STATUS_BY_DECISION = {
    Decision.APPROVE: "pending",
    Decision.REVIEW: "flagged",
    Decision.REJECT: "rejected",
}


@dataclass
class BatchSummary:
    conversions: int = 0
    referrals_created: int = 0
    qualified: int = 0
    flagged: int = 0
    rejected: int = 0
    voided: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    signals: Counter[str] = field(default_factory=Counter)  # fraud signals by rule
    fraud_seconds: float = 0.0  # reading the fraud facts and judging the new referrals

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversions": self.conversions,
            "referrals_created": self.referrals_created,
            "qualified": self.qualified,
            "flagged": self.flagged,
            "rejected": self.rejected,
            "voided": self.voided,
            "outcomes": dict(self.outcomes),
            "signals": dict(self.signals),
            "fraud_seconds": round(self.fraud_seconds, 3),
        }


class _Programs:
    """Current rules for new referrals, and each referral's own version for old ones."""

    def __init__(self, session: Session) -> None:
        self._programs = Programs(session)
        self._current = {p.id: self._programs.get(p.slug) for p in self._programs.list()}
        self._versions = {p.version_id: p for p in self._current.values()}

    def current(self, program_id: int) -> LoadedProgram:
        return self._current[program_id]

    def version(self, version_id: int) -> LoadedProgram:
        if version_id not in self._versions:
            self._versions[version_id] = self._programs.by_version_id(version_id)
        return self._versions[version_id]


@dataclass(frozen=True, slots=True)
class _Attributed:
    """A conversion attributed to an advocate, before the fraud rules have judged it."""

    conversion: q.PendingConversion
    point: TouchPoint
    how: str
    loaded: LoadedProgram
    landing_host: str | None = None

    def candidate(self) -> Candidate:
        return Candidate(
            program_id=self.loaded.id,
            referrer_id=self.point.advocate_customer_id,
            referee_id=self.conversion.customer_id,
            referred_at=self.conversion.occurred_at,
            # Typed at checkout: the code arrived without a referral link's cookie.
            promo_code=self.conversion.referral_code if not self.conversion.visitor_id else None,
            config=self.loaded.config.fraud,
            landing_referrer_host=self.landing_host,
        )


@dataclass
class _NewReferral:
    row: dict[str, Any]
    signals: list[Signal]


class _Batch:
    """The facts for one batch, read up front, and the decisions taken on them."""

    def __init__(
        self, session: Session, batch: list[q.PendingConversion], rules: RuleSet | None
    ) -> None:
        # None: each program's own rules (FraudRuleSet from its `fraud:` settings).
        self.session, self.batch, self.rules = session, batch, rules
        self.rule_sets: dict[int, FraudRuleSet] = {}
        self.summary = BatchSummary(conversions=len(batch))
        self.programs = _Programs(session)
        touches = q.touches_for(
            session,
            {c.visitor_id for c in batch if c.visitor_id},
            {c.device_id for c in batch if c.device_id},
            q.window_start(batch, MAX_WINDOW_DAYS),
        )
        self.by_visitor: dict[str, list[q.TouchRow]] = defaultdict(list)
        self.by_device: dict[str, list[q.TouchRow]] = defaultdict(list)
        for touch in touches:
            if touch.visitor_id:
                self.by_visitor[touch.visitor_id].append(touch)
            if touch.device_id:
                self.by_device[touch.device_id].append(touch)
        self.promo = q.code_owners(session, {c.referral_code for c in batch if c.referral_code})
        customers = {c.customer_id for c in batch}
        self.referrals = {
            (r.program_id, r.referee_id): r for r in q.referrals_of(session, customers)
        }
        self.keys_by_referee: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for key in self.referrals:
            self.keys_by_referee[key[1]].append(key)
        referrers = {t.advocate_customer_id for t in touches}
        referrers |= {o.customer_id for o in self.promo.values()}
        referrers |= {r.referrer_id for r in self.referrals.values()}
        self.successes = q.successful_referral_counts(session, referrers)
        self.seen_emails = q.referee_emails_in_programs(
            session,
            {t.program_id for t in touches} | {o.program_id for o in self.promo.values()},
            {c.email_normalized for c in batch if c.email_normalized},
        )
        self.first_purchase = q.first_purchases(session, customers)
        refunds = {c.order_id for c in batch if c.kind == "refund" and c.order_id}
        self.originals = q.purchases_by_order(session, refunds)
        self.refunded = q.refunded_totals(session, refunds)
        self.new: dict[tuple[int, int], _NewReferral] = {}
        self.status_changes: dict[int, dict[str, Any]] = {}
        self.to_void: list[int] = []

    # --- pass 1: who referred whom ---------------------------------------------------------

    def create_referrals(self) -> dict[int, str]:
        """Referrals for the batch's unreferred customers; returns early outcomes by id."""
        found: dict[tuple[int, int], _Attributed] = {}
        early: dict[int, str] = {}
        for conversion in self.batch:
            if conversion.kind not in ("signup", "purchase"):
                continue
            for program_id, (point, how) in self._attributions(conversion).items():
                key = (program_id, conversion.customer_id)
                if key in self.referrals or key in found:
                    continue
                if point.advocate_customer_id == conversion.customer_id:
                    early[conversion.id] = "self_referral"
                    continue
                loaded = self.programs.current(program_id)
                if not loaded.config.is_active(conversion.occurred_at):
                    early[conversion.id] = "program_inactive"
                    continue
                landing = self._landing_host(conversion, program_id)
                found[key] = _Attributed(conversion, point, how, loaded, landing)
        # The fraud facts of all the batch's new referrals are read at once; each is then
        # judged in time order, seeing the referrals made before it.
        started = time.perf_counter()
        candidates = {key: a.candidate() for key, a in found.items()}
        reader = FraudFactsReader(self.session, list(candidates.values()))
        verdicts = {key: self._judge(a, candidates[key], reader) for key, a in found.items()}
        self.summary.fraud_seconds += time.perf_counter() - started
        for key, attributed in found.items():
            made = self._new_referral(attributed, *verdicts[key])
            # Written once the batch is decided, in its final state; until then it goes by
            # a provisional id below zero, which no stored referral has.
            self.new[key] = made
            self.referrals[key] = q.ReferralState(
                id=-len(self.new),
                program_id=key[0],
                program_version_id=made.row["program_version_id"],
                referrer_id=made.row["referrer_id"],
                referee_id=key[1],
                status=made.row["status"],
                referred_at=made.row["referred_at"],
                qualifying_conversion_id=None,
            )
            self.keys_by_referee[key[1]].append(key)
        return early

    def _landing_host(self, conversion: q.PendingConversion, program_id: int) -> str | None:
        """Where the referee's latest click on the program's links came from."""
        clicks = [
            t
            for t in self.by_visitor.get(conversion.visitor_id or "", [])
            if t.program_id == program_id
            and t.referrer_host
            and t.occurred_at <= conversion.occurred_at
        ]
        return max(clicks, key=lambda t: t.occurred_at).referrer_host if clicks else None

    def _channel(self, conversion: q.PendingConversion, point: TouchPoint, how: str) -> str | None:
        """The referral's source: the channel of the referee's latest click on the attributed
        code's link, else promo_code for a code that came without a click (typed at
        checkout). A shop that passes the code on from the link's landing page still gets
        the link's channel."""
        clicks = [
            t
            for t in self.by_visitor.get(conversion.visitor_id or "", [])
            + self.by_device.get(conversion.device_id or "", [])
            if t.code_id == point.code_id and t.occurred_at <= conversion.occurred_at
        ]
        if clicks:
            return max(clicks, key=lambda t: t.occurred_at).channel
        return "promo_code" if how == "promo_code" else None

    def _attributions(self, conversion: q.PendingConversion) -> dict[int, tuple[TouchPoint, str]]:
        """Per program: a promo code typed at checkout wins, else the model over clicks."""
        chosen: dict[int, tuple[TouchPoint, str]] = {}
        owner = self.promo.get(conversion.referral_code or "")
        if owner and not owner.revoked:
            point = TouchPoint(owner.code_id, owner.customer_id, conversion.occurred_at)
            chosen[owner.program_id] = (point, "promo_code")
        clicks: dict[int, set[TouchPoint]] = defaultdict(set)
        seen = self.by_visitor.get(conversion.visitor_id or "", [])
        seen = seen + self.by_device.get(conversion.device_id or "", [])
        for touch in seen:
            if touch.program_id not in chosen and touch.occurred_at <= conversion.occurred_at:
                clicks[touch.program_id].add(
                    TouchPoint(touch.code_id, touch.advocate_customer_id, touch.occurred_at)
                )
        for program_id, points in clicks.items():
            config = self.programs.current(program_id).config
            result = attribute(
                list(points),
                config.attribution.model,
                conversion.occurred_at,
                config.attribution.window_days,
            )
            if result is not None:
                point = TouchPoint(
                    result.code_id, result.advocate_customer_id, conversion.occurred_at
                )
                chosen[program_id] = (point, "link")
        return chosen

    def _judge(
        self, found: _Attributed, candidate: Candidate, reader: FraudFactsReader
    ) -> tuple[list[Signal], Decision]:
        loaded = found.loaded
        email = found.conversion.email_normalized or ""
        rules = self.rules or self._program_rules(loaded)
        facts = reader.facts(
            candidate, email_seen_in_program=(loaded.id, email) in self.seen_emails
        )
        signals = rules.evaluate(facts)
        decision = rules.decide(signals) if isinstance(rules, FraudRuleSet) else decide(signals)
        if email:
            self.seen_emails.add((loaded.id, email))
        return signals, decision

    def _new_referral(
        self, found: _Attributed, signals: list[Signal], decision: Decision
    ) -> _NewReferral:
        conversion, point, how, loaded = found.conversion, found.point, found.how, found.loaded
        return _NewReferral(
            row={
                "program_id": loaded.id,
                "program_version_id": loaded.version_id,
                "referrer_id": point.advocate_customer_id,
                "referee_id": conversion.customer_id,
                "code_id": point.code_id,
                "attribution_model": loaded.config.attribution.model.value,
                "attributed_by": how,
                "channel": self._channel(conversion, point, how),
                "status": STATUS_BY_DECISION[decision],
                "status_reason": ",".join(s.reason_code for s in signals) or None,
                "referred_at": conversion.occurred_at,
            },
            signals=signals,
        )

    def _program_rules(self, loaded: LoadedProgram) -> FraudRuleSet:
        if loaded.version_id not in self.rule_sets:
            self.rule_sets[loaded.version_id] = FraudRuleSet(loaded.config.fraud)
        return self.rule_sets[loaded.version_id]

    # --- pass 2: what each conversion means for those referrals --------------------------

    def outcome_of(self, conversion: q.PendingConversion) -> tuple[str, int | None]:
        mine = self._referrals_of(conversion.customer_id)
        if conversion.kind == "refund":
            return self._refund(conversion)
        if conversion.kind == "signup":
            made = [r for r in mine if r.referred_at == conversion.occurred_at]
            return ("referral_created", made[0].id) if made else ("signup_unreferred", None)
        open_referrals = [
            r
            for r in mine
            if r.status in ("pending", "flagged")
            and r.qualifying_conversion_id is None
            and r.referred_at <= conversion.occurred_at
        ]
        if not open_referrals:
            return (
                "purchase_referred" if mine else "purchase_unreferred",
                mine[0].id if mine else None,
            )
        verdicts = [self._validate(conversion, r) for r in open_referrals]
        return verdicts[0].value, open_referrals[0].id

    def _validate(self, conversion: q.PendingConversion, referral: q.ReferralState) -> Outcome:
        config = self.programs.version(referral.program_version_id).config
        key = (referral.program_id, referral.referrer_id)
        verdict = validate_purchase(
            config,
            PurchaseFacts(
                amount_minor=conversion.amount_minor,
                currency=conversion.currency or "",
                occurred_at=conversion.occurred_at,
                referred_at=referral.referred_at,
                referee_ordered_before_referral=self._ordered_before(
                    conversion, referral.referred_at
                ),
                referrer_successful_referrals=self.successes.get(key, 0),
            ),
        )
        if verdict is Outcome.QUALIFIED:
            referral.qualifying_conversion_id = conversion.id
            if referral.status == "pending":
                referral.status = "qualified"
                self.successes[key] = self.successes.get(key, 0) + 1
                self.summary.qualified += 1
            self.status_changes[referral.id] = {
                "id": referral.id,
                "status": referral.status,
                "status_reason": None,
                "qualifying_conversion_id": conversion.id,
            }
        elif verdict.ends_referral:
            referral.status = "voided"
            self.summary.voided += 1
            self.status_changes[referral.id] = {
                "id": referral.id,
                "status": "voided",
                "status_reason": verdict.value,
            }
        return verdict

    def _refund(self, conversion: q.PendingConversion) -> tuple[str, int | None]:
        original = self.originals.get(conversion.order_id or "")
        if original is None:
            return "refund_unreferred", None
        purchase_id, amount = original
        hit = [
            r
            for r in self._referrals_of(conversion.customer_id)
            if r.qualifying_conversion_id == purchase_id
        ]
        if not hit or hit[0].status == "voided":
            return "refund_unreferred", hit[0].id if hit else None
        referral = hit[0]
        config = self.programs.version(referral.program_version_id).config
        remaining = amount - self.refunded.get(conversion.order_id or "", 0)
        if remaining >= max(config.minimum_purchase_minor, 1):
            return "refund_partial_kept", referral.id
        referral.status = "voided"
        self.to_void.append(referral.id)
        self.status_changes.pop(referral.id, None)
        self.summary.voided += 1
        return "refund_voided_referral", referral.id

    def _referrals_of(self, referee_id: int) -> list[q.ReferralState]:
        return [self.referrals[key] for key in self.keys_by_referee.get(referee_id, ())]

    def _ordered_before(self, conversion: q.PendingConversion, referred_at: datetime) -> bool:
        """Was the referee already a customer when referred: by the CRM's record or ours."""
        if conversion.first_order_at is not None and conversion.first_order_at < referred_at:
            return True
        earliest = self.first_purchase.get(conversion.customer_id)
        return earliest is not None and earliest < referred_at

    def write(self, outcomes: list[dict[str, Any]]) -> None:
        ids = self._insert_new_referrals()
        q.set_referral_status(
            self.session, [change for i, change in self.status_changes.items() if i > 0]
        )
        void_referrals(self.session, [i for i in self.to_void if i > 0], reason="refund")
        for outcome in outcomes:
            outcome["referral_id"] = ids.get(outcome["referral_id"], outcome["referral_id"])
        q.mark_processed(self.session, outcomes)

    def _insert_new_referrals(self) -> dict[int, int]:
        """The batch's new referrals as the batch left them (qualified, voided, ...), and
        their fraud signals; returns the stored ids by provisional id."""
        if not self.new:
            return {}
        voided = set(self.to_void)
        rows = []
        for key, made in self.new.items():
            state = self.referrals[key]
            row = {**made.row, "qualifying_conversion_id": state.qualifying_conversion_id}
            row.update(
                {k: v for k, v in self.status_changes.get(state.id, {}).items() if k != "id"}
            )
            if state.id in voided:
                row.update(status="voided", status_reason="refund")
            rows.append(row)
        stored = q.insert_referrals(self.session, rows)
        if len(stored) < len(rows):
            taken = next(key for key in self.new if key not in stored)
            raise ReferralConflict(
                f"program {taken[0]} already has a referral of customer {taken[1]}"
            )
        ids = {self.referrals[key].id: stored[key] for key in self.new}
        insert_fraud_signals(
            self.session,
            [
                {
                    "referral_id": stored[key],
                    "rule": s.rule,
                    "severity": s.severity.value,
                    "score": s.score,
                    "reason_code": s.reason_code,
                    "evidence": s.evidence,
                }
                for key, made in self.new.items()
                for s in made.signals
            ],
        )
        for made in self.new.values():
            self.summary.referrals_created += 1
            self.summary.flagged += made.row["status"] == "flagged"
            self.summary.rejected += made.row["status"] == "rejected"
            self.summary.signals.update(s.rule for s in made.signals)
        return ids


class ReferralConflict(Exception):
    """A referral the batch created was already stored, by a writer that did not take its
    turn: the batch rolls back, its conversions stay unprocessed for the next run."""


@collection_paused
def process_batch(session: Session, batch_size: int, rules: RuleSet | None = None) -> BatchSummary:
    """`rules`: one rule set for every program (tests, benchmarks); None: each program's."""
    conversions = q.claim_unprocessed(session, batch_size)
    if not conversions:
        return BatchSummary()
    batch = _Batch(session, conversions, rules)
    early = batch.create_referrals()
    outcomes = []
    for conversion in conversions:
        text, referral_id = batch.outcome_of(conversion)
        text = early.get(conversion.id, text) if referral_id is None else text
        batch.summary.outcomes[text] += 1
        outcomes.append({"id": conversion.id, "outcome": text, "referral_id": referral_id})
    batch.write(outcomes)
    return batch.summary


@database_task("process-conversions-batch")
def process_conversions_batch(database_url: str, batch_size: int) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return process_batch(session, batch_size).as_dict()


@database_task("count-unprocessed-conversions")
def unprocessed(database_url: str) -> int:
    with transaction(engine_for(database_url)) as session:
        return q.unprocessed_count(session)


@database_task("read-review-backlog")
def review_backlog(database_url: str) -> dict[str, Any]:
    """How many referrals wait for review, and how long the oldest has waited."""
    with transaction(engine_for(database_url)) as session:
        queue = backlog(session)
    return {"open": queue.open, "oldest_waiting_days": queue.oldest_waiting_days}
