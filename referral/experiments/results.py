"""Results of a reward-structure experiment, per arm and against the control arm.

The unit of an experiment is the advocate: advocates are assigned to arms, so every rate
that gets a test counts advocates, once each (the tests assume independent units).

Per arm:

- conversion rate: advocates with at least one successful referral / advocates in the arm,
  with its Wilson interval.
- cost per acquisition: reward cost of the arm / customers its advocates brought in
  (successful referrals), integer minor units rounded half to even.
- ROI: (revenue - cost) / cost, as in `referral.analytics.roi`.
- revenue per advocate: the mean over all advocates of the arm, those who brought nothing
  included.

Against the control: absolute uplift (rate - control rate) with Newcombe's interval, relative
uplift (absolute / control rate; None when the control converts nobody) with the interval
of the rate ratio less 1 (Katz's log method; None while either arm converts nobody), the
two-proportion z-test, and Welch's test on revenue per advocate. Across all arms: Pearson's
chi-square on conversion. The p-values are per comparison: with several treatment arms,
correct for the number of comparisons before calling a winner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from referral.analytics.ratios import per_unit_minor
from referral.analytics.roi import roi
from referral.experiments.distributions import check_confidence
from referral.experiments.means import MeanDifference, SampleSummary, welch_test
from referral.experiments.proportions import (
    Interval,
    Proportion,
    Significance,
    chi_square_test,
    newcombe_interval,
    ratio_interval,
    two_proportion_z_test,
    wilson_interval,
)


@dataclass(frozen=True, slots=True)
class ArmOutcome:
    """What the database counted for one arm.

    - `advocates`: advocates assigned to the arm and exposed (their exposure was logged);
    - `converted`: of those, advocates with at least one successful referral;
    - `acquisitions`: successful referrals of the arm's advocates (customers acquired);
    - `revenue`: revenue per advocate, `n` equal to `advocates`, amounts in minor units;
    - `cost_minor`: reward cost of the arm (issued less clawed back, points valued).
    """

    arm: str
    advocates: int
    converted: int
    acquisitions: int
    revenue: SampleSummary
    cost_minor: int

    def __post_init__(self) -> None:
        Proportion(self.converted, self.advocates)
        if self.revenue.n != self.advocates:
            raise ValueError(f"arm {self.arm!r}: revenue must have one value per advocate")
        if self.acquisitions < self.converted:
            raise ValueError(f"arm {self.arm!r}: each converted advocate acquired someone")

    @property
    def conversion(self) -> Proportion:
        return Proportion(self.converted, self.advocates)


@dataclass(frozen=True, slots=True)
class Comparison:
    """This arm against the control."""

    absolute_uplift: float | None
    absolute_uplift_interval: Interval | None
    relative_uplift: float | None
    relative_uplift_interval: Interval | None
    z_test: Significance | None
    revenue_per_advocate: MeanDifference | None


@dataclass(frozen=True, slots=True)
class ArmResult:
    arm: str
    is_control: bool
    advocates: int
    converted: int
    conversion_rate: float | None
    conversion_interval: Interval | None
    acquisitions: int
    revenue_minor: int
    cost_minor: int
    cost_per_acquisition_minor: int | None
    roi: float | None
    revenue_per_advocate: float | None
    versus_control: Comparison | None
    """None for the control itself."""


@dataclass(frozen=True, slots=True)
class ExperimentResults:
    control: str
    confidence: float
    arms: tuple[ArmResult, ...]
    """In the order given."""
    chi_square: Significance | None
    """All arms convert alike? None when undefined (see `proportions.chi_square_test`)."""


def analyze(
    outcomes: Sequence[ArmOutcome], *, control: str, confidence: float = 0.95
) -> ExperimentResults:
    check_confidence(confidence)
    names = [o.arm for o in outcomes]
    if len(set(names)) != len(names):
        raise ValueError("arm names must be unique")
    if control not in names:
        raise ValueError(f"control arm {control!r} is not among the outcomes")
    base = outcomes[names.index(control)]
    return ExperimentResults(
        control=control,
        confidence=confidence,
        arms=tuple(_arm(o, base, confidence) for o in outcomes),
        chi_square=chi_square_test([o.conversion for o in outcomes]),
    )


def compare(treatment: ArmOutcome, control: ArmOutcome, confidence: float = 0.95) -> Comparison:
    t_rate, c_rate = treatment.conversion.rate, control.conversion.rate
    absolute = None if t_rate is None or c_rate is None else t_rate - c_rate
    return Comparison(
        absolute_uplift=absolute,
        absolute_uplift_interval=newcombe_interval(
            treatment.conversion, control.conversion, confidence
        ),
        relative_uplift=None if absolute is None or not c_rate else absolute / c_rate,
        relative_uplift_interval=_less_one(
            ratio_interval(treatment.conversion, control.conversion, confidence)
        ),
        z_test=two_proportion_z_test(treatment.conversion, control.conversion),
        revenue_per_advocate=welch_test(treatment.revenue, control.revenue, confidence),
    )


def _less_one(ratio: Interval | None) -> Interval | None:
    return None if ratio is None else Interval(ratio.low - 1.0, ratio.high - 1.0)


def _arm(outcome: ArmOutcome, control: ArmOutcome, confidence: float) -> ArmResult:
    is_control = outcome is control
    return ArmResult(
        arm=outcome.arm,
        is_control=is_control,
        advocates=outcome.advocates,
        converted=outcome.converted,
        conversion_rate=outcome.conversion.rate,
        conversion_interval=wilson_interval(outcome.conversion, confidence),
        acquisitions=outcome.acquisitions,
        revenue_minor=outcome.revenue.total,
        cost_minor=outcome.cost_minor,
        cost_per_acquisition_minor=per_unit_minor(outcome.cost_minor, outcome.acquisitions),
        roi=roi(outcome.revenue.total, outcome.cost_minor),
        revenue_per_advocate=outcome.revenue.mean,
        versus_control=None if is_control else compare(outcome, control, confidence),
    )
