"""An identify run enrols "the top N or everyone over a threshold"; the run's own limits
override the program's."""

import pytest

from referral.programs import AdvocateSelection
from referral.selection import Limits, limits


def test_the_program_threshold_applies_by_default():
    assert limits(AdvocateSelection()) == Limits(top=None, min_score=600)
    assert limits(AdvocateSelection(min_score=None)) == Limits(top=None, min_score=None)


def test_a_top_n_stands_alone_unless_a_threshold_is_passed_with_the_run():
    assert limits(AdvocateSelection(top=100)) == Limits(top=100, min_score=None)
    assert limits(AdvocateSelection(), top=10) == Limits(top=10, min_score=None)
    assert limits(AdvocateSelection(top=100), min_score=700) == Limits(top=100, min_score=700)


def test_the_run_overrides_the_program():
    selection = AdvocateSelection(top=100, min_score=500)
    assert limits(selection, top=5, min_score=900) == Limits(top=5, min_score=900)
    assert limits(AdvocateSelection(), min_score=0) == Limits(top=None, min_score=0)


@pytest.mark.parametrize(("top", "min_score"), [(0, None), (None, -1), (None, 1001)])
def test_out_of_range_run_limits_are_refused(top, min_score):
    with pytest.raises(ValueError, match="must be"):
        limits(AdvocateSelection(), top=top, min_score=min_score)
