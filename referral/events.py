"""The event contract shared by the shop API, CRM webhooks and the demo's simulated shop."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from referral.money import check_currency, to_minor

EventType = Literal["signup", "purchase", "refund", "renewal", "nps", "support_interaction"]
CONVERSION_TYPES = ("signup", "purchase", "refund", "renewal")


class EventAddress(BaseModel):
    """A postal (shipping) address: kept only as a keyed hash, for the fraud checks that
    look for accounts at one door."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: Annotated[str, Field(max_length=300)]
    postcode: Annotated[str, Field(max_length=20)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None


class EventCustomer(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    external_id: Annotated[str, Field(min_length=1, max_length=128)]
    email: str | None = None
    phone: str | None = None
    name: str | None = None
    address: EventAddress | None = None


class Event(BaseModel):
    """Unknown fields are kept (extra="allow"): senders add their own and we store them."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    id: Annotated[str, Field(min_length=1, max_length=200)]
    type: EventType
    occurred_at: AwareDatetime
    customer: EventCustomer
    referral_code: str | None = None
    visitor_id: str | None = None
    device_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    order_id: str | None = None
    # An int is minor units already; a string or Decimal is an amount like "12.50".
    amount: Annotated[int, Field(strict=True)] | Decimal | None = None
    currency: str | None = None
    score: Annotated[int, Field(ge=0, le=10)] | None = None
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    payment_fingerprint: str | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _text_is_a_decimal_amount(cls, value: object) -> object:
        # "40.00" must mean forty units; lax int parsing would read it as 40 minor units.
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                raise ValueError("amount must be a decimal string or integer minor units") from None
        if isinstance(value, float):
            raise ValueError("amount must be a decimal string or integer minor units, not a float")
        return value

    @model_validator(mode="after")
    def _money_is_complete(self) -> Event:
        if self.type in ("purchase", "refund", "renewal"):
            if self.amount is None or self.currency is None:
                raise ValueError(f"a {self.type} needs amount and currency")
            if not self.order_id:
                raise ValueError(f"a {self.type} needs order_id")
        if self.currency is not None:
            self.currency = check_currency(self.currency)
        if self.type == "nps" and self.score is None:
            raise ValueError("an nps event needs score")
        self.amount_minor  # noqa: B018 - rejects amounts finer than the currency
        return self

    @property
    def amount_minor(self) -> int:
        if self.amount is None:
            return 0
        if isinstance(self.amount, int):
            return self.amount
        return to_minor(self.amount, self.currency or "USD")
