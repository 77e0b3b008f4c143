"""A referral program's rules: the validated model behind config/programs/*.yaml.

A program file is an edge where people type amounts, so amounts are Decimals here and
become integer minor units through the properties below. Every field is checked; a typo
in a field name is an error, not a silently ignored key.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from referral.experiments.assignment import ArmSpec, ExperimentSpec
from referral.fraud.config import FraudConfig
from referral.money import POINTS, MoneyError, check_currency, percent_of, to_minor
from referral.scoring import ScoreWeights
from referral.segments import Condition


class ProgramType(StrEnum):
    CUSTOMER = "customer"
    BUSINESS = "business"
    INFLUENCER = "influencer"
    AFFILIATE = "affiliate"


class RewardType(StrEnum):
    CREDIT = "credit"
    DISCOUNT = "discount"
    CASH = "cash"
    PRODUCT = "product"
    POINTS = "points"


class RewardUnit(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


class RewardStructure(StrEnum):
    DUAL = "dual"
    REFERRER_ONLY = "referrer_only"
    REFEREE_ONLY = "referee_only"
    TIERED = "tiered"


class AttributionModel(StrEnum):
    FIRST_CLICK = "first_click"
    LAST_CLICK = "last_click"
    LINEAR = "linear"
    POSITION_BASED = "position_based"
    TIME_DECAY = "time_decay"


class Approval(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class Role(StrEnum):
    REFERRER = "referrer"
    REFEREE = "referee"


Currency = Annotated[str, AfterValidator(check_currency)]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RewardSpec(_Strict):
    """One reward: `{type: credit, amount: 10, currency: USD}` or `{type: discount, amount: 15,
    unit: percent}`. A missing currency falls back to the program's."""

    type: RewardType
    amount: Annotated[Decimal, Field(gt=0)]
    unit: RewardUnit = RewardUnit.FIXED
    currency: Currency | None = None
    description: str = ""
    product_sku: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.unit is RewardUnit.PERCENT:
            if self.type in (RewardType.POINTS, RewardType.PRODUCT):
                raise ValueError(f"a {self.type} reward cannot be a percent")
            if self.amount > 100:
                raise ValueError("a percent reward cannot exceed 100")
            if self.amount.scaleb(2) != self.amount.scaleb(2).to_integral_value():
                raise ValueError("a percent may have at most two decimals")
        if self.type is RewardType.POINTS and self.amount != self.amount.to_integral_value():
            raise ValueError("points must be a whole number")
        if self.type is RewardType.PRODUCT and not self.product_sku:
            raise ValueError("a product reward needs product_sku")
        return self

    def resolved_currency(self, program_currency: str) -> str:
        if self.type is RewardType.POINTS:
            return POINTS
        return self.currency or program_currency

    @property
    def basis_points(self) -> int:
        """Percent rewards in basis points: 12.5 % -> 1250."""
        return int(self.amount.scaleb(2))

    def value_minor(self, program_currency: str, purchase_minor: int = 0) -> int:
        """What the reward is worth in minor units of its currency (points for points)."""
        if self.unit is RewardUnit.PERCENT:
            return percent_of(purchase_minor, self.basis_points)
        return to_minor(self.amount, self.resolved_currency(program_currency))


class Tier(_Strict):
    """From the `from_referral`-th successful referral of an advocate on, these rewards apply."""

    name: str
    from_referral: Annotated[int, Field(ge=1)]
    referrer_reward: RewardSpec | None = None
    referee_reward: RewardSpec | None = None


class Milestone(_Strict):
    """A one-off bonus when an advocate reaches `referrals` successful referrals."""

    name: str
    referrals: Annotated[int, Field(ge=1)]
    reward: RewardSpec | None = None
    tier_upgrade: str | None = None

    @model_validator(mode="after")
    def _gives_something(self) -> Self:
        if self.reward is None and self.tier_upgrade is None:
            raise ValueError("a milestone needs a reward, a tier_upgrade or both")
        return self


class Attribution(_Strict):
    model: AttributionModel = AttributionModel.LAST_CLICK
    window_days: Annotated[int, Field(ge=1, le=365)] = 30


class Links(_Strict):
    """Where `/r/{code}` sends people: the shop, an advocate's own click, an unknown code."""

    landing_url: Annotated[str, Field(pattern=r"^https?://")] = "https://example.com/"
    self_referral_url: Annotated[str | None, Field(pattern=r"^https?://")] = None
    fallback_url: Annotated[str | None, Field(pattern=r"^https?://")] = None


class RewardArm(_Strict):
    """One arm of a reward experiment: its share of advocates and the rewards it pays
    instead of the program's (an arm without rewards of its own pays the program's)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    weight: Annotated[int, Field(gt=0)] = 1
    referrer_reward: RewardSpec | None = None
    referee_reward: RewardSpec | None = None


class RewardExperiment(_Strict):
    """An A/B (or n-arm) test of reward structures: each advocate lands in one arm by a hash
    of the experiment's key and their id, for good; `holdout_percent` of advocates are never
    invited, to measure what the program adds at all."""

    key: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
    arms: Annotated[list[RewardArm], Field(min_length=2)]
    control: str | None = None
    holdout_percent: Annotated[Decimal, Field(ge=0, lt=100)] = Decimal(0)

    def spec(self) -> ExperimentSpec:
        return ExperimentSpec(
            key=self.key,
            arms=tuple(ArmSpec(name=a.name, weight=a.weight) for a in self.arms),
            control=self.control,
            holdout_percent=self.holdout_percent,
        )

    @model_validator(mode="after")
    def _valid_spec(self) -> Self:
        self.spec()  # names unique, control among them
        return self


class Reporting(_Strict):
    """What the report compares the program against."""

    paid_cac: Annotated[Decimal, Field(ge=0)] | None = None
    """What a customer costs through paid channels, in the program's currency: the report
    shows what referrals saved against it."""
    point_value: Annotated[Decimal, Field(ge=0)] = Decimal("0.01")
    """What one reward point costs, in the program's currency."""


class Messages(_Strict):
    share_subject: str = "A gift for you"
    share_message: str = "I love this shop. Use my link and we both get a reward:"


class AdvocateSelection(_Strict):
    """Who identify_advocates enrols: a segment filter, then the top N or everyone over a
    score threshold (0..1000), by the weighted score."""

    segment: list[Condition] = []
    top: Annotated[int, Field(ge=1)] | None = None
    min_score: Annotated[int, Field(ge=0, le=1000)] | None = 600
    weights: ScoreWeights = ScoreWeights()


class Reminders(_Strict):
    """Advocates who have not shared after `after_days` get up to `max` reminders,
    `every_days` apart, until they share, convert or opt out."""

    after_days: Annotated[int, Field(ge=1)] = 7
    every_days: Annotated[int, Field(ge=1)] = 7
    max: Annotated[int, Field(ge=0, le=10)] = 2


class Invitations(_Strict):
    """How advocates are invited: channels in order of preference (consent decides), the
    events that trigger an invitation, and the quiet time between two messages."""

    channels: list[Literal["email", "sms", "whatsapp"]] = ["email", "sms", "whatsapp"]
    triggers: list[Literal["purchase", "nps_promoter", "positive_support", "renewal"]] = [
        "purchase",
        "nps_promoter",
        "positive_support",
        "renewal",
    ]
    cooldown_days: Annotated[int, Field(ge=0, le=365)] = 14
    reminders: Reminders = Reminders()


class ProgramConfig(_Strict):
    slug: str
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: ProgramType = ProgramType.CUSTOMER
    description: str = ""
    currency: Currency = "USD"
    reward_structure: RewardStructure = RewardStructure.DUAL
    referrer_reward: RewardSpec | None = None
    referee_reward: RewardSpec | None = None
    tiers: list[Tier] = []
    milestones: list[Milestone] = []
    minimum_purchase: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    validity_period_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    max_referrals: Annotated[int, Field(ge=1)] | None = None
    new_customers_only: bool = True
    attribution: Attribution = Attribution()
    approval: Approval = Approval.AUTO
    hold_days: Annotated[int, Field(ge=0, le=365)] = 14
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    code_length: Annotated[int, Field(ge=6, le=16)] = 8
    links: Links = Links()
    messages: Messages = Messages()
    advocates: AdvocateSelection = AdvocateSelection()
    invitations: Invitations = Invitations()
    # The fraud rules' switches, weights, thresholds and lists; defaults suit most programs.
    fraud: FraudConfig = FraudConfig()
    reporting: Reporting = Reporting()
    experiment: RewardExperiment | None = None

    def for_arm(self, arm: str | None) -> ProgramConfig:
        """The rules an advocate in `arm` is paid under: the arm's rewards over the
        program's. No experiment or no arm (held out): the program's own."""
        if self.experiment is None or arm is None:
            return self
        chosen = next((a for a in self.experiment.arms if a.name == arm), None)
        if chosen is None:
            return self
        overrides = {
            field: getattr(chosen, field)
            for field in ("referrer_reward", "referee_reward")
            if getattr(chosen, field) is not None
        }
        return self.model_copy(update=overrides) if overrides else self

    @field_validator("slug")
    @classmethod
    def _slug(cls, slug: str) -> str:
        if not _SLUG.match(slug):
            raise ValueError("use 2-63 lowercase letters, digits and dashes, e.g. friends-2026")
        return slug

    @model_validator(mode="after")
    def _rewards_match_structure(self) -> Self:
        needs = {
            RewardStructure.DUAL: ("referrer_reward", "referee_reward"),
            RewardStructure.REFERRER_ONLY: ("referrer_reward",),
            RewardStructure.REFEREE_ONLY: ("referee_reward",),
            RewardStructure.TIERED: (),
        }[self.reward_structure]
        for field in needs:
            if getattr(self, field) is None:
                raise ValueError(
                    f"{field} is required for reward_structure {self.reward_structure}"
                )
        if self.reward_structure is RewardStructure.TIERED:
            if not self.tiers:
                raise ValueError("reward_structure tiered needs at least one entry in tiers")
            if self.tiers[0].from_referral != 1:
                raise ValueError("the first tier must start at from_referral 1")
        starts = [tier.from_referral for tier in self.tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers must be in increasing from_referral order, without repeats")
        counts = [milestone.referrals for milestone in self.milestones]
        if counts != sorted(set(counts)):
            raise ValueError("milestones must be in increasing referrals order, without repeats")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        try:
            self.minimum_purchase_minor  # noqa: B018 - checks the decimals against the currency
        except MoneyError as exc:
            raise ValueError(f"minimum_purchase: {exc}") from None
        for role, spec in self._all_rewards():
            try:
                spec.value_minor(self.currency)
            except MoneyError as exc:
                raise ValueError(f"{role}: {exc}") from None
        return self

    def _all_rewards(self) -> list[tuple[str, RewardSpec]]:
        found = [("referrer_reward", self.referrer_reward), ("referee_reward", self.referee_reward)]
        for i, tier in enumerate(self.tiers):
            found += [(f"tiers.{i}.referrer_reward", tier.referrer_reward)]
            found += [(f"tiers.{i}.referee_reward", tier.referee_reward)]
        found += [(f"milestones.{i}.reward", m.reward) for i, m in enumerate(self.milestones)]
        return [(where, spec) for where, spec in found if spec is not None]

    @property
    def minimum_purchase_minor(self) -> int:
        return to_minor(self.minimum_purchase, self.currency)

    def rewards_for(self, nth_referral: int) -> dict[Role, RewardSpec]:
        """The rewards for an advocate's nth successful referral (1-based), by role."""
        if self.reward_structure is RewardStructure.TIERED:
            tier = [t for t in self.tiers if t.from_referral <= nth_referral][-1]
            pairs = {Role.REFERRER: tier.referrer_reward, Role.REFEREE: tier.referee_reward}
        else:
            pairs = {Role.REFERRER: self.referrer_reward, Role.REFEREE: self.referee_reward}
            if self.reward_structure is RewardStructure.REFERRER_ONLY:
                pairs[Role.REFEREE] = None
            elif self.reward_structure is RewardStructure.REFEREE_ONLY:
                pairs[Role.REFERRER] = None
        return {role: spec for role, spec in pairs.items() if spec is not None}

    def is_active(self, at: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )

    def fingerprint(self) -> str:
        """Stable hash of the rules, so re-applying an unchanged file makes no new version."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class ProgramFileError(ValueError):
    """A program definition is wrong; the message names the source, the field and why."""


def parse_program(data: Any, source: str = "program") -> ProgramConfig:
    try:
        return ProgramConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        where = f"{source}: {field}" if field else source  # model-level messages name the field
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ProgramFileError(f"{where}: {message}{more}") from None
