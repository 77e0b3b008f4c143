"""The funnel: step rates, overall rate and where people drop off, zeros included."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.analytics.funnel import FunnelCounts, StepCount, funnel

TYPICAL = FunnelCounts(
    invitations_sent=1000,
    invitations_opened=400,
    invitations_clicked=100,
    link_clicks=120,
    signups=30,
    purchases=12,
)


def test_each_step_rate_is_a_share_of_the_step_before():
    steps = funnel(TYPICAL).steps
    assert [s.name for s in steps] == [
        "invitations_sent",
        "invitations_opened",
        "invitations_clicked",
        "link_clicks",
        "signups",
        "purchases",
    ]
    assert [s.rate for s in steps] == [None, 0.4, 0.25, 1.2, 0.25, 0.4]
    assert [s.lost for s in steps] == [0, 600, 300, -20, 90, 18]


def test_rates_from_the_start_and_overall():
    result = funnel(TYPICAL)
    assert [s.rate_from_start for s in result.steps] == [1.0, 0.4, 0.1, 0.12, 0.03, 0.012]
    assert result.overall_rate == 0.012


def test_the_biggest_drop_off_is_the_step_that_loses_the_largest_share():
    # 75 % of openers never click, 75 % of link clickers never sign up: the earlier wins.
    assert funnel(TYPICAL).biggest_drop_off == "invitations_clicked"
    assert funnel(TYPICAL).steps[2].drop_off == pytest.approx(0.75)


def test_a_step_that_gains_people_from_outside_is_never_the_drop_off():
    result = funnel([StepCount("clicks", 10), StepCount("signups", 15), StepCount("buys", 14)])
    assert result.steps[1].drop_off == pytest.approx(-0.5)
    assert result.biggest_drop_off == "buys"


def test_an_empty_funnel_has_no_rates_and_no_errors():
    result = funnel(FunnelCounts(0, 0, 0, 0, 0, 0))
    assert all(s.rate is None and s.rate_from_start is None for s in result.steps)
    assert result.overall_rate is None
    assert result.biggest_drop_off is None


def test_after_a_step_of_zero_the_next_rate_is_unknown_not_zero():
    result = funnel([StepCount("sent", 50), StepCount("opened", 0), StepCount("clicked", 0)])
    assert result.steps[1].rate == 0.0 and result.steps[1].drop_off == 1.0
    assert result.steps[2].rate is None and result.steps[2].drop_off is None
    assert result.overall_rate == 0.0
    assert result.biggest_drop_off == "opened"


def test_a_funnel_that_keeps_everyone_has_no_drop_off():
    assert funnel([StepCount("a", 5), StepCount("b", 5)]).biggest_drop_off is None


def test_negative_counts_and_empty_funnels_are_refused():
    with pytest.raises(ValueError, match="negative"):
        funnel([StepCount("a", 5), StepCount("b", -1)])
    with pytest.raises(ValueError):
        funnel([])


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_any_counts_give_a_funnel(counts):
    result = funnel([StepCount(f"s{i}", c) for i, c in enumerate(counts)])
    assert len(result.steps) == len(counts)
    assert result.biggest_drop_off is None or result.biggest_drop_off.startswith("s")
