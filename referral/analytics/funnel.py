"""The referral funnel: how many people reach each step, and where they are lost.

Definitions, for step i with count c[i] (step 0 is the first):

- `rate`: c[i] / c[i-1], the share of the previous step that reached this one.
- `rate_from_start`: c[i] / c[0].
- `lost`: c[i-1] - c[i].
- `drop_off`: 1 - rate, the share of the previous step that did not go on.
- `overall_rate`: c[last] / c[0].

A ratio whose denominator is 0 is None ("nobody got that far"), never 0 and never an error.
Steps need not shrink: link clicks also come from links shared outside invitations and
sign-ups from promo codes typed at checkout, so a rate may exceed 1 and `lost` and
`drop_off` may be negative (the step gained people from outside the previous one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from referral.analytics.ratios import rate


@dataclass(frozen=True, slots=True)
class StepCount:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class FunnelCounts:
    """The standard referral funnel for one program, campaign, channel or period."""

    invitations_sent: int
    invitations_opened: int
    invitations_clicked: int
    link_clicks: int
    signups: int
    purchases: int

    def steps(self) -> list[StepCount]:
        return [
            StepCount("invitations_sent", self.invitations_sent),
            StepCount("invitations_opened", self.invitations_opened),
            StepCount("invitations_clicked", self.invitations_clicked),
            StepCount("link_clicks", self.link_clicks),
            StepCount("signups", self.signups),
            StepCount("purchases", self.purchases),
        ]


@dataclass(frozen=True, slots=True)
class FunnelStep:
    name: str
    count: int
    rate: float | None
    """None for the first step and after a step of 0."""
    rate_from_start: float | None
    lost: int
    """0 for the first step."""
    drop_off: float | None


@dataclass(frozen=True, slots=True)
class Funnel:
    steps: tuple[FunnelStep, ...]
    overall_rate: float | None
    biggest_drop_off: str | None
    """The step with the highest `drop_off` (the earliest on a tie); None when no step loses
    anyone, since then there is no leak to point at."""


def funnel(steps: Sequence[StepCount] | FunnelCounts) -> Funnel:
    """Rates and drop-off for counts given in funnel order."""
    counts = steps.steps() if isinstance(steps, FunnelCounts) else list(steps)
    if not counts:
        raise ValueError("a funnel needs at least one step")
    for step in counts:
        if step.count < 0:
            raise ValueError(f"step {step.name!r} has a negative count")
    first = counts[0].count
    result: list[FunnelStep] = []
    previous: int | None = None
    for step in counts:
        step_rate = None if previous is None else rate(step.count, previous)
        result.append(
            FunnelStep(
                name=step.name,
                count=step.count,
                rate=step_rate,
                rate_from_start=rate(step.count, first),
                lost=0 if previous is None else previous - step.count,
                drop_off=None if step_rate is None else 1 - step_rate,
            )
        )
        previous = step.count
    return Funnel(
        steps=tuple(result),
        overall_rate=rate(counts[-1].count, first),
        biggest_drop_off=_biggest_drop_off(result),
    )


def _biggest_drop_off(steps: list[FunnelStep]) -> str | None:
    worst_name: str | None = None
    worst = 0.0
    for step in steps:
        # Strictly greater, so the earliest of equal leaks wins and gains never count.
        if step.drop_off is not None and step.drop_off > worst:
            worst_name, worst = step.name, step.drop_off
    return worst_name
