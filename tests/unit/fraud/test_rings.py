"""Rings: referral cycles and groups of accounts tied together by shared attributes."""

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from referral.fraud import Severity
from referral.fraud.rings import (
    component_size,
    cycle_size,
    membership,
    referral_cycle,
    referral_cycles,
    shared_attribute_components,
    shared_attribute_ring,
)
from tests.unit.fraud.builders import DEFAULT, referral


class TestReferralCycles:
    def test_a_refers_b_refers_c_refers_a_is_a_cycle(self):
        assert referral_cycles([(1, 2), (2, 3), (3, 1)]) == [frozenset({1, 2, 3})]

    def test_a_chain_is_no_cycle(self):
        assert referral_cycles([(1, 2), (2, 3), (3, 4)]) == []

    def test_two_people_referring_each_other_is_a_cycle(self):
        assert referral_cycles([(1, 2), (2, 1)]) == [frozenset({1, 2})]

    def test_self_referral_is_left_to_the_same_customer_rule(self):
        assert referral_cycles([(1, 1)]) == []

    def test_customers_hanging_off_a_cycle_are_not_in_it(self):
        assert referral_cycles([(1, 2), (2, 3), (3, 1), (3, 4), (5, 1)]) == [frozenset({1, 2, 3})]

    def test_cycle_size_needs_both_sides_in_one_cycle(self):
        cycles = membership(referral_cycles([(1, 2), (2, 3), (3, 1), (3, 4)]))
        assert cycle_size(cycles, 3, 1) == 3
        assert cycle_size(cycles, 3, 4) == 0
        assert cycle_size(cycles, 7, 8) == 0

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=40))
    def test_finds_exactly_the_strongly_connected_groups(self, edges):
        graph = nx.DiGraph([(a, b) for a, b in edges if a != b])
        expected = {frozenset(g) for g in nx.strongly_connected_components(graph) if len(g) > 1}
        assert set(referral_cycles(edges)) == expected


class TestSharedAttributeComponents:
    LINKS = [
        (1, "device", "d1"),
        (2, "device", "d1"),
        (2, "payment", "p1"),
        (3, "payment", "p1"),
        (3, "address", "a1"),
        (4, "address", "a1"),
        (5, "address", "a9"),
    ]

    def test_accounts_joined_through_each_other_form_one_component(self):
        assert shared_attribute_components(self.LINKS) == [frozenset({1, 2, 3, 4})]

    def test_a_component_at_the_minimum_size_counts(self):
        assert shared_attribute_components(self.LINKS, min_size=4) == [frozenset({1, 2, 3, 4})]

    def test_a_component_below_the_minimum_size_does_not(self):
        assert shared_attribute_components(self.LINKS, min_size=5) == []

    def test_only_the_chosen_kinds_join_accounts(self):
        components = shared_attribute_components(self.LINKS, kinds={"device", "payment"})
        assert components == [frozenset({1, 2, 3})]

    def test_an_attribute_held_by_too_many_joins_nobody(self):
        placeholder = [(c, "device", "unknown") for c in range(10)]
        assert shared_attribute_components(placeholder, max_customers_per_attribute=5) == []

    def test_same_hash_under_two_kinds_is_two_attributes(self):
        assert shared_attribute_components([(1, "device", "h"), (2, "address", "h")]) == []

    def test_component_size_is_the_largest_group_of_either_side(self):
        groups = membership([frozenset({1, 2}), frozenset({3, 4, 5})])
        assert component_size(groups, 1, 3) == 3
        assert component_size(groups, 8, 9) == 0


def test_a_referral_closing_a_cycle_is_hard():
    signal = referral_cycle(referral(referral_cycle_size=3), DEFAULT)
    assert signal is not None
    assert signal.severity is Severity.HARD
    assert signal.evidence == {"cycle_size": 3}


def test_no_cycle_no_signal():
    assert referral_cycle(referral(), DEFAULT) is None


def test_a_ring_at_the_minimum_size_is_soft():
    min_size = DEFAULT.ring_min_size
    assert shared_attribute_ring(referral(shared_component_size=min_size - 1), DEFAULT) is None
    signal = shared_attribute_ring(referral(shared_component_size=min_size), DEFAULT)
    assert signal is not None and signal.severity is Severity.SOFT


def test_a_large_household_is_no_group_by_default_since_addresses_join_nobody():
    household = [(c, "address", "home") for c in range(1, 7)]
    kinds = DEFAULT.config.rings.attribute_kinds
    assert shared_attribute_components(household, DEFAULT.ring_min_size, kinds=kinds) == []
