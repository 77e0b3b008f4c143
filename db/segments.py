"""Segment filters as SQL: each allowlisted field maps to its customer column and every
value is a bound parameter, so text from a program file can never change the query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, true

from db.models import Customer
from referral.segments import FIELDS, Condition, Op

_COLUMNS = {name: getattr(Customer, name) for name in FIELDS}


def condition_sql(condition: Condition) -> ColumnElement[bool]:
    column: Any = _COLUMNS[condition.field]
    value = condition.value
    match condition.op:
        case Op.EQ:
            return column == value
        case Op.NE:
            return column.is_distinct_from(value)
        case Op.GT:
            return column > value
        case Op.GTE:
            return column >= value
        case Op.LT:
            return column < value
        case Op.LTE:
            return column <= value
        case Op.IN:
            return column.in_(value)
        case Op.NOT_IN:
            return column.not_in(value)
        case Op.IS_NULL:
            return column.is_(None)
        case Op.NOT_NULL:
            return column.is_not(None)
    raise ValueError(f"unsupported operator {condition.op}")


def to_sql(conditions: list[Condition]) -> ColumnElement[bool]:
    """All conditions must hold; no conditions select everyone."""
    if not conditions:
        return true()
    return and_(*(condition_sql(c) for c in conditions))
