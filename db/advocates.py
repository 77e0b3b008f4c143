"""Enrolment and codes, set-based: one statement scores every customer, one enrols the
chosen ones, and codes are inserted a batch at a time with collisions retried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from db.engine import is_postgres
from db.models import Advocate, Customer, Program, ReferralCode
from db.statements import bulk_insert, insert_ignore, materialized
from db.types import days_since, utcnow
from referral.codes import new_codes, validate_vanity
from referral.scoring import CAPS, PROMOTER_MIN_NPS, ScoreWeights

MAX_CODE_ATTEMPTS = 5


class _Greatest(FunctionElement[Any]):
    """GREATEST(a, b), which SQLite spells MAX(a, b). A CASE would repeat its operands, and
    over a million rows the nested caps evaluated each input four times."""

    inherit_cache = True
    type = Float()


class _Least(FunctionElement[Any]):
    """LEAST(a, b), which SQLite spells MIN(a, b)."""

    inherit_cache = True
    type = Float()


def _spelled(function: type[FunctionElement[Any]], everywhere: str, sqlite: str) -> None:
    """Compile `function(a, b)` under its SQLite name there, its standard name elsewhere."""

    def compile_(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
        name = sqlite if compiler.dialect.name == "sqlite" else everywhere
        return f"{name}({compiler.process(element.clauses, **kw)})"

    compiles(function)(compile_)


_spelled(_Greatest, "GREATEST", "MAX")
_spelled(_Least, "LEAST", "MIN")


def score_expression(weights: ScoreWeights) -> ColumnElement[Any]:
    """The SQL twin of referral.scoring.score."""

    def capped(value: Any, cap: float) -> Any:
        return _Least(_Greatest(cast(value, Float), 0.0), float(cap)) / float(cap)

    c = Customer
    promoter = case((func.coalesce(c.nps_score, 0) >= PROMOTER_MIN_NPS, 1.0), else_=0.0)
    repeat = capped(c.orders_count - 1, CAPS["orders"] - 1)
    support = capped(c.support_positive, CAPS["support_positive"])
    engagement = capped(
        c.email_opens_90d + 2 * c.email_clicks_90d + 3 * c.reviews_count, CAPS["engagement"]
    )
    tenure = capped(func.floor(func.coalesce(days_since(c.customer_since), 0)), CAPS["tenure_days"])
    spend = capped(c.total_spend_minor, weights.spend_cap_minor)
    weighted = (
        weights.promoter_nps * promoter
        + weights.repeat_purchases * repeat
        + weights.positive_support * support
        + weights.engagement * engagement
        + weights.tenure * tenure
        + weights.spend * spend
    )
    return cast(func.floor(1000.0 * weighted / weights.total + 0.5), Float)


@dataclass(frozen=True)
class Enrolment:
    enrolled: int
    already_enrolled: int


def enroll_top(
    session: Session,
    program_id: int,
    weights: ScoreWeights,
    *,
    top: int | None = None,
    min_score: int | None = None,
    where: ColumnElement[bool] | None = None,
    enrolled_via: str = "identify_advocates",
) -> Enrolment:
    """Enrol the best-scoring customers not yet in the program; existing advocates stay.
    `where` narrows the candidates, e.g. a segment filter from db.segments.to_sql."""
    # Two runs at once would each fill the same top N from their own snapshot; the program
    # row lock makes the second wait and then see the first one's advocates.
    session.execute(select(Program.id).where(Program.id == program_id).with_for_update())
    score = score_expression(weights).label("score")
    already = select(Advocate.customer_id).where(Advocate.program_id == program_id)
    candidates = select(
        literal(program_id).label("program_id"),
        Customer.id.label("customer_id"),
        cast(score, Float).label("score"),
        literal(enrolled_via).label("enrolled_via"),
    ).where(Customer.id.not_in(already.scalar_subquery()))
    if where is not None:
        candidates = candidates.where(where)
    if min_score is not None:
        candidates = candidates.where(score_expression(weights) >= min_score)
    if top is not None:
        existing = (
            session.scalar(
                select(func.count()).select_from(Advocate).where(Advocate.program_id == program_id)
            )
            or 0
        )
        remaining = max(top - existing, 0)
        candidates = candidates.order_by(score.desc(), Customer.id).limit(remaining)
    before = _advocate_count(session, program_id)
    if is_postgres(session):
        # The top 100k of a million scores fit a 20 MB top-N heapsort; the default 4 MB
        # work_mem sorts all of them on disk instead.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    _insert_from(
        session,
        Advocate,
        ["program_id", "customer_id", "score", "enrolled_via"],
        candidates,
        order_by=("customer_id",),
    )
    after = _advocate_count(session, program_id)
    return Enrolment(enrolled=after - before, already_enrolled=before)


def _insert_from(
    session: Session,
    model: Any,
    columns: list[str],
    query: Select[Any],
    order_by: tuple[str, ...] = (),
) -> None:
    """INSERT ... SELECT, skipping rows that hit a unique key. On PostgreSQL the SELECT runs
    first on its own, in a CREATE TABLE AS, which may use parallel workers; the SELECT of an
    INSERT never does.

    `order_by` is the order the rows go in. In the order of a foreign key, each row's key
    check (which locks the referenced row) and index entries land on the pages the row
    before touched: enrolling the top 100k of 1M customers in customer order instead of
    score order took 3.9-4.0 s instead of 4.3-4.6 s."""
    if not is_postgres(session):
        session.execute(insert_ignore(session, model).from_select(columns, query))
        return
    with materialized(session, f"_into_{model.__tablename__}", query) as rows:
        session.execute(
            insert_ignore(session, model).from_select(
                columns, select(rows).order_by(*(rows.c[c] for c in order_by))
            )
        )


def count_eligible(
    session: Session,
    weights: ScoreWeights,
    *,
    min_score: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> int:
    """Customers the selection admits, enrolled already or not, before any top-N cut."""
    query = select(func.count()).select_from(Customer)
    if where is not None:
        query = query.where(where)
    if min_score is not None:
        query = query.where(score_expression(weights) >= min_score)
    return session.scalar(query) or 0


def missing_code_count(session: Session, program_id: int) -> int:
    """Advocates of the program without a live code."""
    return _missing_count(session, program_id)


def enroll_customer(session: Session, program_id: int, customer_id: int, via: str) -> int:
    """The advocate id for a customer in a program, enrolling them if needed."""
    session.execute(
        insert_ignore(session, Advocate).values(
            program_id=program_id, customer_id=customer_id, enrolled_via=via
        )
    )
    return session.execute(
        select(Advocate.id).where(
            Advocate.program_id == program_id, Advocate.customer_id == customer_id
        )
    ).scalar_one()


def _with_live_code(session: Session) -> ColumnElement[bool]:
    """Joins an advocate to their unrevoked code. On SQLite the program, implied by the
    advocate, is named too: the partial unique index on (program_id, advocate_id) WHERE
    revoked_at IS NULL then serves the join, where SQLite, planning by rules, otherwise
    scanned the codes once per advocate (8,000 advocates: 4.2 s to count those without a
    code). PostgreSQL, asked the same inside the transaction that just inserted the codes
    (statistics still saying there are none), took that route with the program named (20,000
    advocates: 14.9 s) and hashes the join without it."""
    on = [ReferralCode.advocate_id == Advocate.id, ReferralCode.revoked_at.is_(None)]
    if not is_postgres(session):
        on.append(ReferralCode.program_id == Advocate.program_id)
    return and_(*on)


def issue_missing_codes(
    session: Session, program_id: int, *, length: int, limit: int | None = None
) -> int:
    """Give every advocate of the program without a live code a fresh random code.

    Codes are drawn in Python and paired with the advocates in one INSERT ... SELECT; a code
    that collides with an existing one is skipped by ON CONFLICT and its advocate simply
    gets a new draw in the next round.
    """
    issued = 0
    missing_before = _missing_count(session, program_id)
    for _attempt in range(MAX_CODE_ATTEMPTS):
        wanted = missing_before
        if limit is not None:
            wanted = min(wanted, limit - issued)
        if wanted <= 0:
            return issued
        missing = (
            select(
                Advocate.id.label("advocate_id"),
                Advocate.customer_id,
                func.row_number().over(order_by=Advocate.id).label("n"),
            )
            .outerjoin(ReferralCode, _with_live_code(session))
            .where(Advocate.program_id == program_id, ReferralCode.id.is_(None))
            .order_by(Advocate.id)
            .limit(wanted)
            .subquery()
        )
        _pair_with_codes(session, program_id, missing, new_codes(wanted, length))
        # Counted, not taken from rowcount, which SQLite leaves at -1 for INSERT ... SELECT.
        missing_after = _missing_count(session, program_id)
        issued += missing_before - missing_after
        missing_before = missing_after
    if missing_before and (limit is None or issued < limit):
        raise RuntimeError(f"codes still colliding after {MAX_CODE_ATTEMPTS} rounds")
    return issued


def _pair_with_codes(
    session: Session, program_id: int, missing: Subquery, codes: list[str]
) -> None:
    """Each of the `missing` advocates (numbered 1, 2, ... in `n`) gets the code drawn in its
    place, skipping a code that is taken. On PostgreSQL the codes go as one array, unnested
    with their numbers and joined. SQLite could only scan a json_each list of them for each
    advocate (32,000 advocates: 43 s, growing with the square), so there the advocates are
    paired in Python and inserted by `bulk_insert`, one executemany there (95,000: 0.9 s
    with the count)."""
    columns = ["program_id", "advocate_id", "customer_id", "code"]
    if not is_postgres(session):
        advocates = session.execute(
            select(missing.c.advocate_id, missing.c.customer_id).order_by(missing.c.n)
        )
        rows = [
            dict(zip(columns, (program_id, advocate_id, customer_id, code), strict=True))
            for (advocate_id, customer_id), code in zip(advocates, codes, strict=False)
        ]
        bulk_insert(session, ReferralCode, rows, ignore_conflicts=True)
        return
    drawn = (
        func.unnest(cast(codes, ARRAY(String)))
        .table_valued("code", with_ordinality="n")
        .render_derived()
    )
    pairs = select(
        literal(program_id).label("program_id"),
        missing.c.advocate_id,
        missing.c.customer_id,
        drawn.c.code,
    ).join_from(missing, drawn, drawn.c.n == missing.c.n)
    _insert_from(session, ReferralCode, columns, pairs)


def _missing_count(session: Session, program_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Advocate)
            .outerjoin(ReferralCode, _with_live_code(session))
            .where(Advocate.program_id == program_id, ReferralCode.id.is_(None))
        )
        or 0
    )


class CodeTaken(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"code {code} is already taken")


def live_code(session: Session, advocate_id: int) -> ReferralCode | None:
    return session.scalar(
        select(ReferralCode).where(
            ReferralCode.advocate_id == advocate_id, ReferralCode.revoked_at.is_(None)
        )
    )


def issue_code(
    session: Session,
    program_id: int,
    customer_id: int,
    *,
    length: int,
    vanity: str | None = None,
    via: str = "cli",
) -> ReferralCode:
    """The advocate's live code; a vanity code replaces (revokes) a random one."""
    advocate_id = enroll_customer(session, program_id, customer_id, via)
    current = live_code(session, advocate_id)
    if vanity is None:
        if current is None:
            issue_missing_codes(session, program_id, length=length, limit=None)
            current = live_code(session, advocate_id)
        assert current is not None
        return current
    code = validate_vanity(vanity)
    if current is not None and current.code == code:
        return current
    taken = session.scalar(select(ReferralCode.id).where(ReferralCode.code == code))
    if taken is not None:
        raise CodeTaken(code)
    if current is not None:
        session.execute(
            update(ReferralCode).where(ReferralCode.id == current.id).values(revoked_at=utcnow())
        )
    session.execute(
        insert(ReferralCode).values(
            program_id=program_id,
            advocate_id=advocate_id,
            customer_id=customer_id,
            code=code,
            is_vanity=True,
        )
    )
    created = live_code(session, advocate_id)
    assert created is not None
    return created


def _advocate_count(session: Session, program_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Advocate).where(Advocate.program_id == program_id)
        )
        or 0
    )
