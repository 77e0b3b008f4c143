"""Enrolling advocates and issuing their codes."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from db.advocates import enroll_top, issue_missing_codes
from db.engine import engine_for, transaction
from db.programs import Programs
from referral.scoring import ScoreWeights
from tasks.retry import retry_on_transient


@task(
    name="enroll-advocates",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[1, 5],
    retry_condition_fn=retry_on_transient,
)
def enroll_advocates(
    database_url: str,
    program_slug: str,
    *,
    top: int | None,
    min_score: int | None,
    weights: ScoreWeights | None = None,
) -> dict[str, int]:
    with transaction(engine_for(database_url)) as session:
        program = Programs(session).get(program_slug)
        result = enroll_top(
            session, program.id, weights or ScoreWeights(), top=top, min_score=min_score
        )
    return {"enrolled": result.enrolled, "already_enrolled": result.already_enrolled}


@task(
    name="issue-codes-batch",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=[1, 5],
    retry_condition_fn=retry_on_transient,
)
def issue_codes_batch(database_url: str, program_slug: str, batch_size: int) -> int:
    with transaction(engine_for(database_url)) as session:
        program = Programs(session).get(program_slug)
        return issue_missing_codes(
            session, program.id, length=program.config.code_length, limit=batch_size
        )
