"""The ring sweep: after a conversions run, look at each program's whole referral graph for
cycles (A refers B refers C refers A, through aliases of each other) and for groups of
accounts tied together by devices, cards or addresses, and hold or reject the open
referrals inside them. A graph property, so it is judged on the graph, not per batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db import rings as q
from db.engine import engine_for, transaction
from db.programs import LoadedProgram, Programs
from db.rewards import insert_fraud_signals
from referral.fraud import Decision, Signal
from referral.fraud.engine import decide
from referral.fraud.policy import Policy
from referral.fraud.rings import (
    component_size,
    membership,
    ring_referrals,
    shared_attribute_components,
)
from tasks.base import database_task


@database_task("find-referral-rings")
def find_rings(database_url: str) -> dict[str, int]:
    with transaction(engine_for(database_url)) as session:
        return sweep_programs(session)


def sweep_programs(session: Session) -> dict[str, int]:
    """Every program's sweep, after one refresh of the referrals' statistics."""
    q.refresh_statistics(session)
    totals = {"ring_referrals": 0, "held": 0, "rejected": 0}
    programs = Programs(session)
    for summary in programs.list():
        found = sweep_program(session, programs.get(summary.slug))
        for name in totals:
            totals[name] += found[name]
    return totals


def sweep_program(session: Session, loaded: LoadedProgram) -> dict[str, int]:
    config = loaded.config.fraud
    policy = Policy.of(config)
    referrals = q.program_referrals(session, loaded.id)
    links = q.shared_attributes(session, loaded.id, config.rings.max_customers_per_attribute)
    kinds = config.rings.attribute_kinds
    signals: dict[int, list[Signal]] = {}
    if config.enabled("referral_cycle"):
        same_person = shared_attribute_components(links, 2)  # aliases, by every kind
        cycles = ring_referrals([(r, a, b) for r, a, b, _ in referrals], same_person)
        for referral_id, size in cycles.items():
            signals.setdefault(referral_id, []).append(
                policy.signal("referral_cycle", "REFERRAL_CYCLE", {"cycle_size": size})
            )
    if config.enabled("shared_attribute_ring"):
        groups = membership(shared_attribute_components(links, policy.ring_min_size, kinds=kinds))
        for referral_id, referrer, referee, _status in referrals if groups else ():
            size = component_size(groups, referrer, referee)
            if size:
                signals.setdefault(referral_id, []).append(
                    policy.signal(
                        "shared_attribute_ring",
                        "SHARED_ATTRIBUTE_RING",
                        {"component_size": size, "min_size": policy.ring_min_size},
                    )
                )
    status_of = {r: status for r, _a, _b, status in referrals}
    on_record = q.signalled(session, [r for r in signals if status_of[r] in q.OPEN])
    open_hits = {
        r: fresh
        for r, found in signals.items()
        if status_of[r] in q.OPEN and (fresh := [s for s in found if (r, s.rule) not in on_record])
    }
    insert_fraud_signals(
        session,
        [
            {
                "referral_id": referral_id,
                "rule": s.rule,
                "severity": s.severity.value,
                "score": s.score,
                "reason_code": s.reason_code,
                "evidence": s.evidence,
            }
            for referral_id, found in open_hits.items()
            for s in found
        ],
    )
    changes: list[dict[str, Any]] = []
    for referral_id, found in open_hits.items():
        decision = decide(found, config)
        reasons = ",".join(s.reason_code for s in found)
        if decision is Decision.REJECT:
            changes.append({"id": referral_id, "status": "rejected", "status_reason": reasons})
        elif decision is Decision.REVIEW and status_of[referral_id] != "flagged":
            changes.append({"id": referral_id, "status": "flagged", "status_reason": reasons})
    q.hold_or_reject(session, changes)
    return {
        "ring_referrals": len(open_hits),
        "held": sum(c["status"] == "flagged" for c in changes),
        "rejected": sum(c["status"] == "rejected" for c in changes),
    }
