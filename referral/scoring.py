"""Advocate scoring: who is likely to refer, from what the CRM knows.

Each signal is capped and scaled to 0..1, then weighted; the total is 0..1000 points so
thresholds in program files are whole numbers. The database computes the same formula in
SQL for millions of rows (db/advocates.py); `score` is its reference and both are tested
against each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

PROMOTER_MIN_NPS = 9
CAPS = {"orders": 10, "support_positive": 3, "engagement": 20, "tenure_days": 1825}


class ScoreWeights(BaseModel):
    """Relative weights; they are normalised, so only their proportions matter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    promoter_nps: float = Field(default=35, ge=0)
    repeat_purchases: float = Field(default=20, ge=0)
    positive_support: float = Field(default=10, ge=0)
    engagement: float = Field(default=15, ge=0)
    tenure: float = Field(default=10, ge=0)
    spend: float = Field(default=10, ge=0)
    spend_cap_minor: int = Field(default=100_000, gt=0)

    @model_validator(mode="after")
    def _some_weight(self) -> ScoreWeights:
        if self.total == 0:
            raise ValueError("at least one weight must be above zero")
        return self

    @property
    def total(self) -> float:
        return (
            self.promoter_nps
            + self.repeat_purchases
            + self.positive_support
            + self.engagement
            + self.tenure
            + self.spend
        )


@dataclass(frozen=True, slots=True)
class CustomerSignals:
    nps_score: int | None
    orders_count: int
    support_positive: int
    email_opens_90d: int
    email_clicks_90d: int
    reviews_count: int
    customer_since: datetime | None
    total_spend_minor: int


def score(signals: CustomerSignals, weights: ScoreWeights, now: datetime) -> int:
    def capped(value: float, cap: float) -> float:
        return min(max(value, 0.0), cap) / cap

    promoter = 1.0 if (signals.nps_score or 0) >= PROMOTER_MIN_NPS else 0.0
    # A second order is what shows loyalty, so the first one earns nothing.
    repeat = capped(signals.orders_count - 1, CAPS["orders"] - 1)
    support = capped(signals.support_positive, CAPS["support_positive"])
    engagement = capped(
        signals.email_opens_90d + 2 * signals.email_clicks_90d + 3 * signals.reviews_count,
        CAPS["engagement"],
    )
    tenure_days = (now - signals.customer_since).days if signals.customer_since else 0
    tenure = capped(tenure_days, CAPS["tenure_days"])
    spend = capped(signals.total_spend_minor, weights.spend_cap_minor)
    weighted = (
        weights.promoter_nps * promoter
        + weights.repeat_purchases * repeat
        + weights.positive_support * support
        + weights.engagement * engagement
        + weights.tenure * tenure
        + weights.spend * spend
    )
    return math.floor(1000 * weighted / weights.total + 0.5)
