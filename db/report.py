"""The referral report: each program's figures from db.analytics, turned into rates, ROI,
costs and a leaderboard by referral.analytics, as plain data for the CLI, the artifacts and
JSON. Money stays in integer minor units; rates are fractions (0.25 is 25%).

Here rather than in tasks/ so that `referral report` runs without importing Prefect.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.analytics import (
    activity_times,
    conversion_delays,
    customer_orders,
    external_ids,
    program_figures,
    success_events,
)
from db.breakdowns import Segment, by_campaign
from db.experiments import arm_outcomes
from db.programs import LoadedProgram, Programs
from db.reviews import backlog
from db.types import utcnow
from referral.analytics.cohorts import cohort_cells, cohort_report
from referral.analytics.funnel import funnel
from referral.analytics.leaderboards import leaderboard, tally_by_month
from referral.analytics.ratios import per_unit_minor
from referral.analytics.roi import economics, reward_costs, roi
from referral.analytics.sources import ChannelCounts, channel_shares
from referral.analytics.timing import time_to_conversion
from referral.analytics.trends import Granularity, Point, by_month_of_year, series
from referral.experiments.incrementality import GroupOutcome, incrementality
from referral.experiments.means import SampleSummary
from referral.experiments.results import analyze
from referral.money import to_minor


def program_report(
    session: Session, loaded: LoadedProgram, since: datetime, *, top: int = 10
) -> dict[str, Any]:
    config = loaded.config
    currency = config.currency
    figures = program_figures(session, loaded.id, currency, since)
    point_value = to_minor(config.reporting.point_value, currency)
    costs = reward_costs(figures.costs, currency=currency, minor_per_point=point_value)
    money = economics(
        currency=currency,
        revenue_minor=figures.revenue_minor,
        cost_minor=costs.total_minor,
        acquired_customers=figures.acquired,
        paid_cac_minor=(
            to_minor(config.reporting.paid_cac, currency)
            if config.reporting.paid_cac is not None
            else None
        ),
    )
    steps = funnel(figures.funnel)
    board = leaderboard(figures.successes, top=top)
    names = external_ids(session, [e.advocate_id for e in board.entries])
    made, acquired = activity_times(session, loaded.id, since)
    last = max([*made, *acquired], default=since)
    weekly_made = series((Point(at) for at in made), Granularity.WEEK, start=since, end=last)
    weekly_acquired = series(
        (Point(at) for at in acquired), Granularity.WEEK, start=since, end=last
    )
    by_period = {str(p.period): p.value for p in weekly_acquired.points}
    monthly_made = series((Point(at) for at in made), Granularity.MONTH, start=since, end=last)
    monthly_acquired = series(
        (Point(at) for at in acquired), Granularity.MONTH, start=since, end=last
    )
    acquired_in = {str(p.period): p.value for p in monthly_acquired.points}
    price = _Pricing(currency, point_value)
    return {
        "program": loaded.slug,
        "version": loaded.version,
        "since": since.isoformat(),
        "currency": currency,
        "funnel": [asdict(step) for step in steps.steps],
        "overall_rate": steps.overall_rate,
        "biggest_drop_off": steps.biggest_drop_off,
        "economics": asdict(money),
        "costs_minor": {kind.value: n for kind, n in costs.by_type_minor.items()},
        "points_given": costs.points,
        "top_referrers": [
            {
                "position": e.position,
                "advocate": names.get(e.advocate_id, str(e.advocate_id)),
                "referrals": e.count,
                "reached_at": e.reached_at.isoformat(),
            }
            for e in board.entries
        ],
        "advocates_ranked": board.advocates,
        "channels": figures.channels,
        "weekly": [
            {
                "week": str(p.period),
                "referrals": p.value,
                "acquired": by_period.get(str(p.period), 0),
            }
            for p in weekly_made.points
        ],
        "monthly": [
            {
                "month": str(p.period),
                "referrals": p.value,
                "acquired": acquired_in.get(str(p.period), 0),
            }
            for p in monthly_made.points
        ],
        "seasonal": [asdict(p) for p in by_month_of_year(monthly_made)],
        "by_channel": _channels(list(figures.by_channel), price),
        "by_campaign": [price.segment(c) for c in by_campaign(session, loaded.id, currency, since)],
        "fraud": {"flagged": figures.fraud.flagged, "rejected": figures.fraud.rejected},
        "experiment": _experiment(session, loaded),
        **_customers_and_timing(session, loaded, since, names_of=names, top=top),
    }


def report(
    session: Session, since: datetime, *, program: str | None = None, top: int = 10
) -> dict[str, Any]:
    """Every program (or one), and the review queue they share."""
    programs = Programs(session)
    slugs = [program] if program else [p.slug for p in programs.list()]
    queue = backlog(session)
    return {
        "since": since.isoformat(),
        "programs": [program_report(session, programs.get(s), since, top=top) for s in slugs],
        "review_queue": {
            "open": queue.open,
            "oldest_waiting_days": queue.oldest_waiting_days,
        },
    }


class _Pricing:
    """Turns a channel's or campaign's counts into its funnel rates, cost, ROI and cost per
    acquired customer, valuing points as the program does."""

    def __init__(self, currency: str, point_value: int) -> None:
        self.currency, self.point_value = currency, point_value

    def segment(self, segment: Segment) -> dict[str, Any]:
        steps = funnel(segment.funnel)
        cost = reward_costs(
            segment.costs, currency=self.currency, minor_per_point=self.point_value
        ).total_minor
        return {
            "name": segment.name,
            **segment.detail,
            "funnel": {step.name: step.count for step in steps.steps},
            "signup_to_purchase": steps.steps[-1].rate,
            "biggest_drop_off": steps.biggest_drop_off,
            "revenue_minor": segment.revenue_minor,
            "cost_minor": cost,
            "roi": roi(segment.revenue_minor, cost),
            "cost_per_acquisition_minor": per_unit_minor(cost, segment.purchases),
        }


def _channels(segments: list[Segment], price: _Pricing) -> list[dict[str, Any]]:
    """Each channel's figures with its share of clicks, purchases and revenue, most revenue
    first."""
    named = {s.name: s for s in segments}
    shares = channel_shares(
        ChannelCounts(s.name, s.link_clicks, s.signups, s.purchases, s.revenue_minor)
        for s in segments
    )
    return [
        {
            **price.segment(named[share.channel]),
            "click_share": share.click_share,
            "purchase_share": share.purchase_share,
            "revenue_share": share.revenue_share,
        }
        for share in shares
    ]


def _experiment(session: Session, loaded: LoadedProgram) -> dict[str, Any] | None:
    """The program's reward experiment: each arm's conversion, cost and ROI with uplift over
    the control, 95% intervals and tests, and the lift over the held-out group."""
    trial = loaded.config.experiment
    if trial is None:
        return None
    spec = trial.spec()
    outcomes, holdout = arm_outcomes(session, loaded.id, spec.key)
    found: dict[str, Any] = {"key": spec.key, "control": spec.control_arm, "arms": None}
    if any(o.arm == spec.control_arm for o in outcomes):
        found["arms"] = asdict(analyze(outcomes, control=spec.control_arm))
    if holdout is not None and outcomes:
        treated = GroupOutcome(
            customers=sum(o.advocates for o in outcomes),
            converted=sum(o.converted for o in outcomes),
            revenue=SampleSummary(
                n=sum(o.revenue.n for o in outcomes),
                total=sum(o.revenue.total for o in outcomes),
                total_squares=sum(o.revenue.total_squares for o in outcomes),
            ),
        )
        found["holdout"] = {
            "advocates": holdout.customers,
            **asdict(incrementality(treated, holdout)),
        }
    return found


COHORT_MONTHS = 3  # retention months 1..3 and CLV over 3 months


def _customers_and_timing(
    session: Session,
    loaded: LoadedProgram,
    since: datetime,
    *,
    names_of: dict[int, str],
    top: int,
) -> dict[str, Any]:
    """Referred versus other customers by monthly cohort (retention, CLV), time from
    referral to purchase, and each month's leaderboard."""
    as_of = session.execute(select(utcnow())).scalar_one()
    cells = cohort_cells(
        customer_orders(session, loaded.id, loaded.config.currency, since),
        as_of=as_of,
        retention_months=COHORT_MONTHS,
        clv_months=COHORT_MONTHS,
    )
    cohorts = cohort_report(
        cells, as_of=as_of, retention_months=COHORT_MONTHS, clv_months=COHORT_MONTHS
    )
    timing = time_to_conversion(conversion_delays(session, loaded.id, since))
    monthly = tally_by_month(success_events(session, loaded.id, since))
    boards = {str(month): leaderboard(t, top=min(top, 3)) for month, t in monthly.items()}
    missing = {e.advocate_id for b in boards.values() for e in b.entries} - set(names_of)
    names = {**names_of, **external_ids(session, sorted(missing))}
    return {
        "cohorts": {
            "months": COHORT_MONTHS,
            "referred": asdict(cohorts.referred),
            "other": asdict(cohorts.other),
            "rows": [{**asdict(r), "cohort": str(r.cohort)} for r in cohorts.rows],
        },
        "time_to_conversion": {
            "conversions": timing.conversions,
            "median_hours": _hours(timing.median),
            "p90_hours": _hours(timing.p90),
        },
        "monthly_leaders": {
            month: [
                {
                    "position": e.position,
                    "advocate": names.get(e.advocate_id, "?"),
                    "referrals": e.count,
                }
                for e in board.entries
            ]
            for month, board in sorted(boards.items())
        },
    }


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)
