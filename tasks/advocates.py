"""Enrolling advocates and issuing their codes."""

from __future__ import annotations

from typing import Any

from db.advocates import count_eligible, enroll_top, issue_missing_codes, missing_code_count
from db.customers import count_customers
from db.engine import engine_for, transaction
from db.programs import Programs
from db.segments import to_sql
from referral.scoring import ScoreWeights
from referral.selection import limits
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
) -> dict[str, Any]:
    """Score every customer in one statement and enrol by the program's selection (its
    segment, then `top`/`min_score`, which the run's own values override); nobody already
    enrolled is enrolled again. Returns counts only."""
    with transaction(engine_for(database_url)) as session:
        program = Programs(session).get(program_slug)
        selection = program.config.advocates
        chosen = limits(selection, top=top, min_score=min_score)
        segment = to_sql(selection.segment)
        result = enroll_top(
            session,
            program.id,
            selection.weights,
            top=chosen.top,
            min_score=chosen.min_score,
            where=segment,
        )
        return {
            "top": chosen.top,
            "min_score": chosen.min_score,
            "scored": count_customers(session),
            "eligible": count_eligible(
                session, selection.weights, min_score=chosen.min_score, where=segment
            ),
            "enrolled": result.enrolled,
            "already_enrolled": result.already_enrolled,
            "codes_missing": missing_code_count(session, program.id),
        }


@database_task("issue-codes-batch")
def issue_codes_batch(database_url: str, program_slug: str, batch_size: int) -> int:
    with transaction(engine_for(database_url)) as session:
        program = Programs(session).get(program_slug)
        return issue_missing_codes(
            session, program.id, length=program.config.code_length, limit=batch_size
        )
