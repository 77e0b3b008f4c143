"""Rings: referral cycles, and groups of accounts joined by shared devices, cards or addresses.

The graph functions take edges the database reads in one query each and return groups of
customer ids; `membership`, `cycle_size` and `component_size` turn those into the two numbers
ReferralFacts carries. The rules then only compare numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

import networkx as nx

from referral.fraud import ReferralFacts, Signal
from referral.fraud.policy import Policy

Group = frozenset[int]


def referral_cycles(edges: Iterable[tuple[int, int]]) -> list[Group]:
    """Customers who reach themselves through referrals (A refers B refers C refers A), as
    strongly connected components of the (referrer_id, referee_id) graph with two or more
    members. Self-referrals are left to the same_customer rule.

    Give it the program's existing referrals plus the batch's new ones, so a referral that
    closes a cycle is seen in the batch that creates it.
    """
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_edges_from(_on_possible_cycles(edges))
    return [frozenset(group) for group in nx.strongly_connected_components(graph) if len(group) > 1]


def _on_possible_cycles(edges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The edges left after repeatedly peeling off customers nobody refers to or who refer
    nobody: those cannot lie on a cycle. Nearly every referee refers no one, so this leaves
    networkx a handful of edges instead of the whole program (linear time, unlike building
    the full graph, which cost more than the cycle search itself)."""
    edges = [(referrer, referee) for referrer, referee in edges if referrer != referee]
    # The first layer goes in bulk, with set operations: only edges between customers who
    # both refer and are referred can lie on a cycle, and in a typical program that leaves
    # the few referees who became advocates themselves.
    refer_and_referred = {a for a, _ in edges} & {b for _, b in edges}
    successors: defaultdict[int, set[int]] = defaultdict(set)
    predecessors: defaultdict[int, set[int]] = defaultdict(set)
    for referrer, referee in edges:
        if referrer in refer_and_referred and referee in refer_and_referred:
            successors[referrer].add(referee)
            predecessors[referee].add(referrer)
    out_degree = {node: len(targets) for node, targets in successors.items()}
    in_degree = {node: len(sources) for node, sources in predecessors.items()}
    peel = [
        node
        for node in successors.keys() | predecessors.keys()
        if not (out_degree.get(node) and in_degree.get(node))
    ]
    gone: set[int] = set()
    while peel:
        node = peel.pop()
        if node in gone:
            continue
        gone.add(node)
        for target in successors.get(node, ()):
            in_degree[target] -= 1
            if not in_degree[target]:
                peel.append(target)
        for source in predecessors.get(node, ()):
            out_degree[source] -= 1
            if not out_degree[source]:
                peel.append(source)
    return [
        (referrer, referee)
        for referrer, targets in successors.items()
        if referrer not in gone
        for referee in targets
        if referee not in gone
    ]


def shared_attribute_components(
    links: Iterable[tuple[int, str, str]],
    min_size: int = 2,
    *,
    kinds: Collection[str] | None = None,
    max_customers_per_attribute: int | None = None,
) -> list[Group]:
    """Groups of at least `min_size` customers joined, directly or through each other, by
    a shared attribute. `links` are (customer_id, kind, attribute_hash) rows, kind being
    "device", "payment" or "address".

    `kinds` limits which kinds join customers; an attribute held by more than
    `max_customers_per_attribute` customers joins nobody (a placeholder value or a public
    terminal would otherwise merge strangers into one giant group). The database can leave
    out attributes held by one customer only; they never join anyone.
    """
    holders: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for customer, kind, value in links:
        if value and (kinds is None or kind in kinds):
            holders[(kind, value)].add(customer)
    graph: nx.Graph[int] = nx.Graph()
    for customers in holders.values():
        if len(customers) < 2:
            continue
        if max_customers_per_attribute is not None and len(customers) > max_customers_per_attribute:
            continue
        # A star joins the holders as well as a clique does, with n-1 edges instead of n^2/2.
        first, *others = customers
        graph.add_edges_from((first, other) for other in others)
    return [frozenset(group) for group in nx.connected_components(graph) if len(group) >= min_size]


def membership(groups: Iterable[Group]) -> dict[int, Group]:
    """Each customer's group, for lookups while building facts."""
    return {customer: group for group in groups for customer in group}


def cycle_size(cycles: Mapping[int, Group], referrer_id: int, referee_id: int) -> int:
    """ReferralFacts.referral_cycle_size: the size of the cycle group holding both sides of
    the referral, 0 when they are not in one (then this referral closes no cycle)."""
    group = cycles.get(referrer_id)
    return len(group) if group is not None and referee_id in group else 0


def component_size(components: Mapping[int, Group], *customer_ids: int) -> int:
    """ReferralFacts.shared_component_size: the largest group holding any of the customers."""
    return max((len(components[c]) for c in customer_ids if c in components), default=0)


def referral_cycle(facts: ReferralFacts, policy: Policy) -> Signal | None:
    if facts.referral_cycle_size < 2:
        return None
    return policy.signal(
        "referral_cycle", "REFERRAL_CYCLE", {"cycle_size": facts.referral_cycle_size}
    )


def shared_attribute_ring(facts: ReferralFacts, policy: Policy) -> Signal | None:
    size = facts.shared_component_size
    if size < policy.ring_min_size:
        return None
    return policy.signal(
        "shared_attribute_ring",
        "SHARED_ATTRIBUTE_RING",
        {"component_size": size, "min_size": policy.ring_min_size},
    )


def ring_referrals(
    referrals: Iterable[tuple[int, int, int]], same_person: Iterable[Group] = ()
) -> dict[int, int]:
    """Referral id -> the size of the referral cycle it lies on, for (referral id, referrer,
    referee) rows, after merging each group of `same_person` (customers joined by a device,
    card or address) into one: a ring refers fresh aliases of its members, so the cycle only
    shows once an alias is seen as the member it belongs to. A referral inside one merged
    group is no cycle (that is a self-referral, for the identity rules)."""
    rows = list(referrals)
    person = {customer: min(group) for group in same_person for customer in group}
    cycles = membership(referral_cycles((person.get(a, a), person.get(b, b)) for _, a, b in rows))
    found = {}
    for referral_id, referrer, referee in rows:
        size = cycle_size(cycles, person.get(referrer, referrer), person.get(referee, referee))
        if size:
            found[referral_id] = size
    return found
