"""The embedded demo: a synthetic shop's customers through the whole referral pipeline."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from config.program_files import bundled_program_files, load_program_files
from db.engine import database_now, engine_for, transaction
from db.migrate import upgrade
from db.programs import Programs
from db.summary import engine_summary
from flows.common import publish_markdown, settings_and_url
from flows.nightly import nightly
from tasks.advocates import enroll_advocates, issue_codes_batch
from tasks.crm import seed_customers_batch
from tasks.simulate import simulate_activity


@task(name="migrate-database", cache_policy=NO_CACHE)
def migrate(database_url: str) -> None:
    upgrade(engine_for(database_url))


@task(name="apply-bundled-programs", cache_policy=NO_CACHE)
def apply_bundled_programs(database_url: str) -> dict[str, str]:
    configs = load_program_files(bundled_program_files())
    with transaction(engine_for(database_url)) as session:
        return {c.slug: Programs(session).apply(c).outcome.value for c in configs}


@task(name="summarise", cache_policy=NO_CACHE)
def summarise(database_url: str, program_slug: str) -> dict[str, Any]:
    with transaction(engine_for(database_url)) as session:
        return _summary(session, program_slug)


def _summary(session: Session, program_slug: str) -> dict[str, Any]:
    program = Programs(session).get(program_slug)
    return {
        "program": program.slug,
        "version": program.version,
        **engine_summary(session, program.id),
    }


@flow(name="demo", log_prints=True)
def demo(
    customers: int = 10_000, seed: int = 7, program: str = "friends", advocates: int = 1_500
) -> dict[str, Any]:
    settings, url = settings_and_url()
    migrate(url)
    apply_bundled_programs(url)
    # The synthetic shop's clock is today's midnight (database time), so a second run on the
    # same day regenerates exactly the same customers and events and changes nothing.
    today = datetime.combine(database_now(url).date(), time(), tzinfo=UTC)
    pepper = settings.hash_pepper.get_secret_value().encode()
    # In order, not submitted side by side: customer ids follow the order the batches commit
    # in, enrolment and the simulated shop follow ids, and the demo should repeat exactly.
    # SQLite takes one writer at a time anyway.
    loaded = sum(
        seed_customers_batch(
            url,
            seed=seed,
            start=start,
            pepper=pepper,
            now=today,
            count=min(settings.batch_size, customers - start),
        )
        for start in range(0, customers, settings.batch_size)
    )
    # The advocates come from the shop seeded above: a shop smaller than `advocates` would
    # otherwise enrol the simulated referees on the next run, and that run would not be a
    # repeat of this one.
    enrolment = enroll_advocates(url, program, top=min(advocates, customers), min_score=None)
    while issue_codes_batch(url, program, settings.batch_size):
        pass
    activity = simulate_activity(
        url, program, seed=seed, now=today, pepper=pepper, batch_size=settings.batch_size
    )
    # Advocates are enrolled above with the demo's own count, so the chain skips that step.
    chain = nightly(sync=False, identify=False)
    conversions, rewards = chain["process_conversions"], chain["distribute_rewards"]
    summary = summarise(url, program)
    summary.update(
        milestones=chain["milestone_rewards"],
        invitations=chain["send_invitations"],
        delivery=chain["deliver_outbox"],
        crm=chain["push_crm"],
        loaded=loaded,
        enrolment=enrolment,
        activity=activity,
        processed=conversions,
        rewards=rewards,
    )
    publish_markdown("demo-summary", _markdown(summary), "What the demo run did")
    return summary


def _markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# Demo run: program `{summary['program']}` v{summary['version']}",
        "",
        "| measure | value |",
        "| --- | --- |",
    ]
    for key in ("customers", "advocates", "codes", "clicks"):
        lines.append(f"| {key} | {summary[key]:,} |")
    for kind, n in sorted(summary["conversions"].items()):
        lines.append(f"| conversions: {kind} | {n:,} |")
    for status, n in sorted(summary["referrals"].items()):
        lines.append(f"| referrals: {status} | {n:,} |")
    for grant in summary["grants"]:
        lines.append(
            f"| {grant['reward_type']} rewards {grant['status']} | {grant['count']:,} "
            f"({grant['amount_minor']:,} {grant['currency']} minor units) |"
        )
    return "\n".join(lines)
