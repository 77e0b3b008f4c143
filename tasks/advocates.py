"""Enrolling advocates and issuing their codes."""

from __future__ import annotations

from db.advocates import enroll_top, issue_missing_codes
from db.engine import engine_for, transaction
from db.programs import Programs
from db.segments import to_sql
from referral.scoring import ScoreWeights
from tasks.base import database_task


@database_task("enroll-advocates")
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


@database_task("identify-advocates-by-program")
def identify_by_program(
    database_url: str, program_slug: str, *, top: int | None, min_score: int | None
) -> dict[str, int]:
    """Score every customer once in SQL and enrol by the program's selection; explicit
    `top`/`min_score` override the program file."""
    with transaction(engine_for(database_url)) as session:
        program = Programs(session).get(program_slug)
        selection = program.config.advocates
        chosen_top = top if top is not None else selection.top
        chosen_min = min_score if min_score is not None else selection.min_score
        result = enroll_top(
            session,
            program.id,
            selection.weights,
            top=chosen_top,
            min_score=None if chosen_top is not None and min_score is None else chosen_min,
            where=to_sql(selection.segment),
        )
    return {"enrolled": result.enrolled, "already_enrolled": result.already_enrolled}


@database_task("issue-codes-batch")
def issue_codes_batch(database_url: str, program_slug: str, batch_size: int) -> int:
    with transaction(engine_for(database_url)) as session:
        program = Programs(session).get(program_slug)
        return issue_missing_codes(
            session, program.id, length=program.config.code_length, limit=batch_size
        )
