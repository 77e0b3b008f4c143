"""Referral cycles are found through aliases: a ring refers fresh accounts of its members."""

from referral.fraud.rings import ring_referrals


def test_a_cycle_through_aliases_is_found_once_the_aliases_are_merged():
    # 1 refers 12 (an alias of 2), 2 refers 13 (of 3), 3 refers 11 (of 1).
    referrals = [(101, 1, 12), (102, 2, 13), (103, 3, 11)]
    aliases = [frozenset({1, 11}), frozenset({2, 12}), frozenset({3, 13})]
    assert ring_referrals(referrals) == {}
    assert ring_referrals(referrals, aliases) == {101: 3, 102: 3, 103: 3}


def test_a_family_at_the_advocates_address_is_no_cycle():
    # 1 refers their partner 2 (same address) and a friend 3 who refers someone else.
    referrals = [(201, 1, 2), (202, 1, 3), (203, 3, 4)]
    assert ring_referrals(referrals, [frozenset({1, 2})]) == {}


def test_referrals_off_the_cycle_are_not_part_of_it():
    referrals = [(301, 1, 2), (302, 2, 1), (303, 2, 5)]
    assert ring_referrals(referrals) == {301: 2, 302: 2}
