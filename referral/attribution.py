"""Attribution: which advocate gets credit for a referee, from the touches before it.

Multi-touch models split credit; a referee still has exactly one referrer per program, the
advocate with the most credit (ties go to the latest touch), so the split is kept for
reporting while the referral goes to one person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from referral.programs import AttributionModel

# Position-based: 40 % first, 40 % last, 20 % shared by the middle.
ENDPOINT_SHARE = 0.4
TIME_DECAY_HALF_LIFE_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class TouchPoint:
    code_id: int
    advocate_customer_id: int
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Attribution:
    code_id: int
    advocate_customer_id: int
    credits: dict[int, float]  # code_id -> share of credit, summing to 1


def in_window(touches: list[TouchPoint], at: datetime, window_days: int) -> list[TouchPoint]:
    start = at - timedelta(days=window_days)
    return sorted((t for t in touches if start <= t.occurred_at <= at), key=_order)


def attribute(
    touches: list[TouchPoint], model: AttributionModel, at: datetime, window_days: int
) -> Attribution | None:
    eligible = in_window(touches, at, window_days)
    if not eligible:
        return None
    credits = _credits(eligible, model, at)
    by_code: dict[int, float] = defaultdict(float)
    for touch, credit in zip(eligible, credits, strict=True):
        by_code[touch.code_id] += credit
    last_seen = {t.code_id: i for i, t in enumerate(eligible)}
    winner = max(by_code, key=lambda code: (round(by_code[code], 9), last_seen[code]))
    advocate = next(t.advocate_customer_id for t in eligible if t.code_id == winner)
    return Attribution(code_id=winner, advocate_customer_id=advocate, credits=dict(by_code))


def _credits(touches: list[TouchPoint], model: AttributionModel, at: datetime) -> list[float]:
    n = len(touches)
    if model is AttributionModel.FIRST_CLICK:
        return [1.0] + [0.0] * (n - 1)
    if model is AttributionModel.LAST_CLICK:
        return [0.0] * (n - 1) + [1.0]
    if model is AttributionModel.LINEAR:
        return [1.0 / n] * n
    if model is AttributionModel.POSITION_BASED:
        if n == 1:
            return [1.0]
        if n == 2:
            return [0.5, 0.5]
        middle = (1.0 - 2 * ENDPOINT_SHARE) / (n - 2)
        return [ENDPOINT_SHARE] + [middle] * (n - 2) + [ENDPOINT_SHARE]
    weights = [
        0.5 ** ((at - t.occurred_at).total_seconds() / 86400 / TIME_DECAY_HALF_LIFE_DAYS)
        for t in touches
    ]
    total = sum(weights)
    return [w / total for w in weights]


def _order(touch: TouchPoint) -> tuple[datetime, int]:
    return (touch.occurred_at, touch.code_id)
