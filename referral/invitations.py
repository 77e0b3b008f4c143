"""Invitation rules that need no database: triggers and the keys that make a re-run a no-op."""

from __future__ import annotations

from datetime import date
from typing import Final

from referral.scoring import PROMOTER_MIN_NPS

SCHEDULED: Final = "scheduled"
REMINDER: Final = "reminder"
# Events that may trigger an invitation; a program lists the ones it uses.
EVENT_TRIGGERS: Final = ("purchase", "nps_promoter", "positive_support", "renewal")
# A triggering event counts for this long: a purchase from last year invites nobody today.
EVENT_WINDOW_DAYS: Final = 7


class UnknownTrigger(ValueError):
    def __init__(self, trigger: str) -> None:
        known = ", ".join((SCHEDULED, *EVENT_TRIGGERS))
        super().__init__(f"unknown invitation trigger {trigger!r}; triggers: {known}")


def check_trigger(trigger: str) -> str:
    if trigger != SCHEDULED and trigger not in EVENT_TRIGGERS:
        raise UnknownTrigger(trigger)
    return trigger


def invitation_key(program_id: int, customer_id: int, trigger: str, day: date) -> str:
    """One invitation per customer, program and trigger a day (the database's UTC date), so
    a repeated or concurrent run queues nothing twice."""
    return f"invite:{program_id}:{customer_id}:{trigger}:{day.isoformat()}"


def reminder_key(program_id: int, customer_id: int, invitation_id: int, number: int) -> str:
    """The nth reminder of one invitation exists once, however many runs race to send it."""
    return f"invite:{program_id}:{customer_id}:{REMINDER}:{invitation_id}:{number}"


def triggers_of(event_type: str, score: int | None, sentiment: str | None) -> tuple[str, ...]:
    """The invitation triggers an incoming event can fire, so the flow that records it can
    send those invitations straight away instead of waiting for the schedule."""
    if event_type in ("purchase", "renewal"):
        return (event_type,)
    if event_type == "nps" and score is not None and score >= PROMOTER_MIN_NPS:
        return ("nps_promoter",)
    if event_type == "support_interaction" and sentiment == "positive":
        return ("positive_support",)
    return ()
