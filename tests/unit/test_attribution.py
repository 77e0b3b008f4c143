"""Attribution models pick one referrer and split credit the way each model promises."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referral.attribution import TouchPoint, attribute
from referral.programs import AttributionModel

AT = datetime(2026, 11, 1, tzinfo=UTC)


def touch(code: int, days_ago: float) -> TouchPoint:
    return TouchPoint(code, 100 + code, AT - timedelta(days=days_ago))


TOUCHES = [touch(1, 20), touch(2, 10), touch(3, 1)]


@pytest.mark.parametrize(
    ("model", "winner"),
    [
        (AttributionModel.FIRST_CLICK, 1),
        (AttributionModel.LAST_CLICK, 3),
        (AttributionModel.TIME_DECAY, 3),
        (AttributionModel.LINEAR, 3),
        (AttributionModel.POSITION_BASED, 3),
    ],
)
def test_each_model_picks_its_referrer(model, winner):
    assert attribute(TOUCHES, model, AT, 30).code_id == winner


def test_touches_outside_the_window_do_not_count():
    assert attribute(TOUCHES, AttributionModel.FIRST_CLICK, AT, 15).code_id == 2
    assert attribute([touch(1, 40)], AttributionModel.LAST_CLICK, AT, 30) is None


def test_touches_after_the_conversion_do_not_count():
    assert attribute([touch(1, -1)], AttributionModel.LAST_CLICK, AT, 30) is None


def test_position_based_gives_the_ends_forty_percent_each():
    credits = attribute(TOUCHES, AttributionModel.POSITION_BASED, AT, 30).credits
    assert credits == pytest.approx({1: 0.4, 2: 0.2, 3: 0.4})


@given(
    st.lists(st.tuples(st.integers(1, 5), st.floats(0, 29)), min_size=1, max_size=20),
    st.sampled_from(list(AttributionModel)),
)
def test_credits_always_sum_to_one_and_the_winner_has_the_most(raw, model):
    result = attribute([touch(c, d) for c, d in raw], model, AT, 30)
    assert sum(result.credits.values()) == pytest.approx(1.0)
    assert result.credits[result.code_id] == pytest.approx(max(result.credits.values()))
