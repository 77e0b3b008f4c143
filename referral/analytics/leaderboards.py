"""Top referrers, all-time and by month, and one advocate's place among them.

An advocate's score is their number of successful referrals (the database decides which
statuses count, e.g. qualified, approved or rewarded). Order: more referrals first; on
equal counts, whoever reached that count first, i.e. the earlier time of their Nth
successful referral where N is the tied count; on equal times as well, the lower advocate
id, only so that the order is total and repeatable. Positions are therefore unique: 1, 2, 3.
Advocates without a successful referral are not ranked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from referral.analytics.periods import Month, as_utc


@dataclass(frozen=True, slots=True)
class Success:
    """One successful referral: its advocate and the moment it counted as successful."""

    advocate_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class AdvocateTally:
    """An advocate's `count` successful referrals, the `count`-th of them at `reached_at`.
    In SQL: COUNT(*) and the time at ROW_NUMBER() = COUNT(*) over the advocate's successes
    by time, i.e. MAX(time)."""

    advocate_id: int
    count: int
    reached_at: datetime


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    position: int
    advocate_id: int
    count: int
    reached_at: datetime


@dataclass(frozen=True, slots=True)
class Leaderboard:
    entries: tuple[LeaderboardEntry, ...]
    """At most `top` entries, best first."""
    advocates: int
    """Every ranked advocate, including those below the cut."""


@dataclass(frozen=True, slots=True)
class Standing:
    position: int
    advocates: int
    count: int
    reached_at: datetime
    referrals_to_next: int | None
    """Successful referrals still needed to pass the advocate just above; a tie is not
    enough, because the newcomer reached the count later. None for the leader."""


def tally(successes: Iterable[Success]) -> list[AdvocateTally]:
    """Successes to one tally per advocate, in no particular order."""
    counts: dict[int, int] = defaultdict(int)
    latest: dict[int, datetime] = {}
    for success in successes:
        at = as_utc(success.at)
        counts[success.advocate_id] += 1
        if success.advocate_id not in latest or at > latest[success.advocate_id]:
            latest[success.advocate_id] = at
    return [AdvocateTally(a, counts[a], latest[a]) for a in counts]


def tally_by_month(successes: Iterable[Success]) -> dict[Month, list[AdvocateTally]]:
    """One tally per advocate per UTC month, counting only that month's successes, so a
    monthly board is a fresh race each month."""
    by_month: dict[Month, list[Success]] = defaultdict(list)
    for success in successes:
        by_month[Month.of(success.at)].append(success)
    return {month: tally(rows) for month, rows in sorted(by_month.items())}


def leaderboard(tallies: Iterable[AdvocateTally], *, top: int | None = None) -> Leaderboard:
    if top is not None and top < 0:
        raise ValueError("top cannot be negative")
    ranked = sorted(_checked(tallies), key=_order)
    shown = ranked if top is None else ranked[:top]
    return Leaderboard(
        entries=tuple(
            LeaderboardEntry(i, t.advocate_id, t.count, as_utc(t.reached_at))
            for i, t in enumerate(shown, start=1)
        ),
        advocates=len(ranked),
    )


def standing(tallies: Iterable[AdvocateTally], advocate_id: int) -> Standing | None:
    """The advocate's place on the board, or None when they have no successful referral.
    One pass without sorting: the portal asks this for one advocate at a time."""
    rows = list(_checked(tallies))
    mine = next((t for t in rows if t.advocate_id == advocate_id), None)
    if mine is None:
        return None
    key = _order(mine)
    above = [t for t in rows if _order(t) < key]
    nearest = max(above, key=_order, default=None)
    return Standing(
        position=len(above) + 1,
        advocates=len(rows),
        count=mine.count,
        reached_at=as_utc(mine.reached_at),
        referrals_to_next=None if nearest is None else nearest.count - mine.count + 1,
    )


def _checked(tallies: Iterable[AdvocateTally]) -> Iterable[AdvocateTally]:
    seen: set[int] = set()
    for t in tallies:
        if t.count < 1:
            raise ValueError(f"advocate {t.advocate_id} has no successful referral to rank")
        if t.advocate_id in seen:
            raise ValueError(f"advocate {t.advocate_id} is tallied twice")
        seen.add(t.advocate_id)
        yield t


def _order(t: AdvocateTally) -> tuple[int, datetime, int]:
    return (-t.count, as_utc(t.reached_at), t.advocate_id)
