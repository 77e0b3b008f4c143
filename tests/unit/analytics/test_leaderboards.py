"""Leaderboards: most successful referrals first, ties to whoever got there first."""

from datetime import UTC, datetime, timedelta

import pytest

from referral.analytics.leaderboards import (
    AdvocateTally,
    Success,
    leaderboard,
    standing,
    tally,
    tally_by_month,
)
from referral.analytics.periods import Month


def day(d: int, month: int = 3) -> datetime:
    return datetime(2024, month, d, 12, tzinfo=UTC)


ALICE, BOB, CAROL, DAN = 1, 2, 3, 4
SUCCESSES = [
    # Alice started first but reached 3 on 9 March; Bob reached 3 on 7 March.
    Success(ALICE, day(1)),
    Success(ALICE, day(2)),
    Success(ALICE, day(9)),
    Success(BOB, day(4)),
    Success(BOB, day(6)),
    Success(BOB, day(7)),
    Success(CAROL, day(3)),
    Success(DAN, day(5)),
    Success(DAN, day(8)),
]


def test_a_tally_is_the_count_and_the_time_of_the_last_success():
    tallies = {t.advocate_id: t for t in tally(SUCCESSES)}
    assert tallies[ALICE] == AdvocateTally(ALICE, 3, day(9))
    assert tallies[CAROL] == AdvocateTally(CAROL, 1, day(3))


def test_more_referrals_rank_higher():
    board = leaderboard(tally(SUCCESSES))
    assert [(e.position, e.advocate_id, e.count) for e in board.entries] == [
        (1, BOB, 3),
        (2, ALICE, 3),
        (3, DAN, 2),
        (4, CAROL, 1),
    ]


def test_a_tie_goes_to_who_reached_the_tied_count_first_not_who_started_first():
    board = leaderboard(tally(SUCCESSES))
    assert board.entries[0].advocate_id == BOB
    assert board.entries[0].reached_at == day(7) < board.entries[1].reached_at == day(9)


def test_a_tie_at_the_same_instant_goes_to_the_lower_advocate_id():
    same = day(1)
    board = leaderboard([AdvocateTally(9, 1, same), AdvocateTally(5, 1, same)])
    assert [e.advocate_id for e in board.entries] == [5, 9]


def test_the_board_shows_the_top_and_counts_everyone():
    board = leaderboard(tally(SUCCESSES), top=2)
    assert [e.advocate_id for e in board.entries] == [BOB, ALICE]
    assert board.advocates == 4


def test_a_monthly_board_is_a_fresh_race_each_month():
    april = [Success(CAROL, day(1, 4)), Success(CAROL, day(2, 4)), Success(ALICE, day(3, 4))]
    boards = tally_by_month(SUCCESSES + april)
    assert list(boards) == [Month(2024, 3), Month(2024, 4)]
    april_board = leaderboard(boards[Month(2024, 4)])
    assert [(e.advocate_id, e.count) for e in april_board.entries] == [(CAROL, 2), (ALICE, 1)]
    # Carol's tie-break time in April is her second April success, not anything in March.
    assert april_board.entries[0].reached_at == day(2, 4)


def test_a_success_late_on_the_last_day_in_another_zone_counts_in_its_utc_month():
    late = datetime(2024, 3, 31, 23, 30, tzinfo=UTC) + timedelta(hours=1)
    assert list(tally_by_month([Success(ALICE, late)])) == [Month(2024, 4)]


def test_an_advocates_standing_and_how_many_referrals_pass_the_next():
    tallies = tally(SUCCESSES)
    dan = standing(tallies, DAN)
    assert (dan.position, dan.advocates, dan.count) == (3, 4, 2)
    # Alice has 3; equalling her is not enough, Dan would have got there later.
    assert dan.referrals_to_next == 2
    assert standing(tallies, BOB).referrals_to_next is None
    assert standing(tallies, ALICE).referrals_to_next == 1


def test_the_standing_agrees_with_the_board():
    tallies = tally(SUCCESSES)
    for entry in leaderboard(tallies).entries:
        assert standing(tallies, entry.advocate_id).position == entry.position


def test_an_advocate_without_successes_has_no_standing():
    assert standing(tally(SUCCESSES), 99) is None
    assert leaderboard([]).entries == ()


def test_bad_tallies_are_refused():
    with pytest.raises(ValueError, match="twice"):
        leaderboard([AdvocateTally(1, 1, day(1)), AdvocateTally(1, 2, day(2))])
    with pytest.raises(ValueError, match="no successful referral"):
        leaderboard([AdvocateTally(1, 0, day(1))])
