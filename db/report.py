"""The referral report: each program's figures from db.analytics, turned into rates, ROI,
costs and a leaderboard by referral.analytics, as plain data for the CLI, the artifacts and
JSON. Money stays in integer minor units; rates are fractions (0.25 is 25%).

Here rather than in tasks/ so that `referral report` runs without importing Prefect.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db.analytics import activity_times, external_ids, program_figures
from db.experiments import arm_outcomes
from db.programs import LoadedProgram, Programs
from db.reviews import backlog
from referral.analytics.funnel import funnel
from referral.analytics.leaderboards import leaderboard
from referral.analytics.roi import economics, reward_costs
from referral.analytics.trends import Granularity, Point, series
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
        "fraud": {"flagged": figures.fraud.flagged, "rejected": figures.fraud.rejected},
        "experiment": _experiment(session, loaded),
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
