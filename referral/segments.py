"""Segment filters: a small language of (field, operator, value) conditions, all of which
must hold. Fields come from an allowlist and values are typed here; db/segments.py turns a
filter into SQL with bound parameters, so user text never becomes SQL."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, model_validator


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NOT_IN = "not_in"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"


# The customer fields a filter may name, with the Python type of their values.
FIELDS: dict[str, type] = {
    "segment": str,
    "country": str,
    "tier": str,
    "preferred_channel": str,
    "currency": str,
    "nps_score": int,
    "orders_count": int,
    "total_spend_minor": int,
    "support_positive": int,
    "support_negative": int,
    "email_opens_90d": int,
    "email_clicks_90d": int,
    "reviews_count": int,
    "consent_email": bool,
    "consent_sms": bool,
    "consent_whatsapp": bool,
    "customer_since": datetime,
    "last_order_at": datetime,
    "nps_at": datetime,
}
_ORDERED = (Op.GT, Op.GTE, Op.LT, Op.LTE)
_NO_VALUE = (Op.IS_NULL, Op.NOT_NULL)


class Condition(BaseModel):
    """`{field: segment, op: in, value: [vip, loyal]}`"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    op: Op = Op.EQ
    value: Any = None

    @model_validator(mode="after")
    def _typed(self) -> Self:
        if self.field not in FIELDS:
            allowed = ", ".join(sorted(FIELDS))
            raise ValueError(f"unknown field {self.field!r}; filters may use: {allowed}")
        kind = FIELDS[self.field]
        if self.op in _NO_VALUE:
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
            return self
        if self.op in _ORDERED and kind in (str, bool):
            raise ValueError(f"{self.field} cannot be compared with {self.op}")
        values = self.value if self.op in (Op.IN, Op.NOT_IN) else [self.value]
        if self.op in (Op.IN, Op.NOT_IN) and (not isinstance(self.value, list) or not values):
            raise ValueError(f"{self.op} needs a non-empty list")
        typed = [_coerce(self.field, kind, v) for v in values]
        object.__setattr__(self, "value", typed if self.op in (Op.IN, Op.NOT_IN) else typed[0])
        return self


def _coerce(field: str, kind: type, value: Any) -> Any:
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is datetime:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        if isinstance(parsed, datetime) and parsed.tzinfo is not None:
            return parsed
        raise ValueError(f"{field} needs an ISO 8601 time with a time zone")
    raise ValueError(f"{field} needs a {kind.__name__} value, not {value!r}")


Filter = list[Condition]
