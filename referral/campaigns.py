"""Seasonal campaigns: a window in UTC, an audience, and a multiplier or bonus on the
referrer's reward. The window is half-open, [starts_at, ends_at): a purchase at the very
instant the campaign ends is already outside it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from referral.money import percent_of, to_minor
from referral.segments import Condition

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class CampaignConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    slug: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    program: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    audience: list[Condition] = []
    multiplier: Annotated[Decimal, Field(ge=1, le=10, decimal_places=2)] = Decimal(1)
    bonus: Annotated[Decimal, Field(ge=0)] = Decimal(0)

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if not _SLUG.match(self.slug):
            raise ValueError("slug: use 2-63 lowercase letters, digits and dashes")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.multiplier == 1 and self.bonus == 0:
            raise ValueError("a campaign needs a multiplier above 1 or a bonus")
        return self

    @property
    def multiplier_bp(self) -> int:
        return int(self.multiplier * 10_000)

    def bonus_minor(self, currency: str) -> int:
        return to_minor(self.bonus, currency)


class CampaignFileError(ValueError):
    pass


def parse_campaign(data: object, source: str = "campaign") -> CampaignConfig:
    try:
        return CampaignConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise CampaignFileError(f"{source}: {field + ': ' if field else ''}{message}") from None


def in_window(starts_at: datetime, ends_at: datetime, at: datetime) -> bool:
    return starts_at <= at < ends_at


def boosted(amount_minor: int, multiplier_bp: int, bonus_minor: int) -> int:
    """The referrer's reward during a campaign: multiplied, then the bonus added."""
    return percent_of(amount_minor, multiplier_bp) + bonus_minor


def pick(
    campaigns: Sequence[tuple[int, datetime, datetime, int, int]], at: datetime
) -> tuple[int, int, int] | None:
    """Of (id, starts, ends, multiplier_bp, bonus) windows, the one covering `at`; where
    several overlap, the most generous multiplier wins, then the latest start."""
    covering = [c for c in campaigns if in_window(c[1], c[2], at)]
    if not covering:
        return None
    best = max(covering, key=lambda c: (c[3], c[4], c[1]))
    return best[0], best[3], best[4]
