"""Segment filters as SQL: each allowlisted field maps to its customer column and every
value is a bound parameter, so text from a program file can never change the query.

Missing values: `ne` and `not_in` match a customer whose field is empty (a customer with no
segment is "not vip"), while ordered comparisons never do (no NPS answer is neither above
nor below 7). `is_null` and `not_null` ask about emptiness directly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true

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
            # Plain NOT IN is unknown for NULL, which would drop empty fields unlike `ne`.
            return or_(column.is_(None), column.not_in(value))
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
