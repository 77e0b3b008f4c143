"""Retention and CLV of referred and other customers by monthly cohort."""

import calendar
import random
from datetime import UTC, datetime, timedelta

import pytest

from referral.analytics.cohorts import (
    CohortCell,
    CustomerOrders,
    Order,
    cohort_cells,
    cohort_report,
)
from referral.analytics.periods import Month

AS_OF = datetime(2024, 5, 15, tzinfo=UTC)


def at(month: int, day: int = 10, year: int = 2024, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def customer(cid: int, first: datetime, *later: tuple[datetime, int], referred=True):
    orders = [Order(first, 1000), *(Order(t, amount) for t, amount in later)]
    return CustomerOrders(cid, referred, first, orders)


def report(customers, *, as_of=AS_OF, retention_months=3, clv_months=1):
    options = {"as_of": as_of, "retention_months": retention_months, "clv_months": clv_months}
    return cohort_report(cohort_cells(customers, **options), **options)


def test_retention_in_month_k_means_an_order_in_the_kth_calendar_month_after_the_cohort():
    rows = report(
        [
            customer(1, at(1, 5), (at(2, 27), 500)),  # back in month 1
            customer(2, at(1, 20), (at(3, 1), 500)),  # back in month 2 only
            customer(3, at(1, 31), (at(1, 31, hour=18), 500)),  # again in January: not month k
            customer(4, at(1, 8)),
        ]
    ).rows
    (january,) = rows
    assert january.cohort == Month(2024, 1) and january.customers == 4
    assert january.retained == (1, 1, 0)
    assert january.retention == (0.25, 0.25, 0.0)


def test_a_month_that_has_not_ended_has_no_retention_yet():
    # As of 15 May: March's month 1 (April) has ended; month 2 (May) is still running.
    (march,) = report([customer(1, at(3), (at(4), 1), (at(5, 2), 1))]).rows
    assert march.retained == (1, None, None)
    assert march.retention == (1.0, None, None)


def test_clv_sums_orders_from_the_first_up_to_n_months_later_excluded():
    first = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)
    window_end = datetime(2024, 2, 29, 9, 0, tzinfo=UTC)  # one month later, clamped
    (row,) = report(
        [
            customer(
                1,
                first,
                (window_end - timedelta(microseconds=1), 200),
                (window_end, 10_000),
            )
        ]
    ).rows
    assert row.clv_customers == 1
    assert row.clv_total_minor == 1000 + 200
    assert row.clv_mean_minor == 1200


def test_clv_counts_only_customers_whose_window_has_ended():
    rows = report([customer(1, at(3, 20)), customer(2, at(4, 20))], clv_months=1).rows
    march, april = rows
    assert (march.clv_customers, march.clv_mean_minor) == (1, 1000)
    assert (april.clv_customers, april.clv_mean_minor) == (0, None)


def test_referred_and_other_customers_are_separate_rows_and_summaries():
    result = report(
        [
            customer(1, at(1), (at(2, 9), 3000), referred=True),
            customer(2, at(1), referred=False),
            customer(3, at(1), referred=False),
            customer(4, at(2), (at(3), 1), referred=False),
        ]
    )
    assert [(str(r.cohort), r.referred, r.customers) for r in result.rows] == [
        ("2024-01", True, 1),
        ("2024-01", False, 2),
        ("2024-02", False, 1),
    ]
    assert result.referred.retention == (1.0, 0.0, 0.0)
    # Month 1: both cohorts observed, 1 of 3 back; month 3: only January's ended (April).
    assert result.other.retention == (1 / 3, 0.0, 0.0)
    assert result.referred.clv_mean_minor == 4000
    # Customer 4 ordered again exactly one month after the first order: outside the window.
    assert result.other.clv_mean_minor == 1000


def test_pooled_retention_uses_only_cohorts_where_the_month_has_ended():
    result = report([customer(1, at(1), (at(4), 1)), customer(2, at(3), (at(4), 1))])
    # Month 3 has ended for January (April) but not for March (June).
    assert result.referred.retention == (0.5, 0.0, 1.0)


def test_customers_whose_first_order_is_after_as_of_are_not_counted():
    assert report([customer(1, at(6))]).rows == ()


def test_an_order_before_the_first_order_is_refused():
    row = CustomerOrders(1, True, at(3), [Order(at(2), 1)])
    with pytest.raises(ValueError, match="before their first order"):
        cohort_cells([row], as_of=AS_OF, retention_months=1, clv_months=1)


def test_cells_must_match_the_retention_horizon():
    cell = CohortCell(Month(2024, 1), True, 1, (0,), 0, 0)
    with pytest.raises(ValueError):
        cohort_report([cell], as_of=AS_OF, retention_months=2, clv_months=1)


def test_cohorts_on_random_customers_equal_a_plain_recomputation():
    rng = random.Random(7)
    as_of = datetime(2024, 12, 20, 8, tzinfo=UTC)
    customers = []
    for cid in range(400):
        first = datetime(2023, 6, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(800_000))
        orders = [Order(first, rng.randrange(100, 10_000))]
        for _ in range(rng.randrange(6)):
            later = first + timedelta(minutes=rng.randrange(400_000))
            orders.append(Order(later, rng.randrange(-500, 10_000)))
        rng.shuffle(orders)
        customers.append(CustomerOrders(cid, rng.random() < 0.3, first, orders))
    result = report(customers, as_of=as_of, retention_months=4, clv_months=3)

    def index(t):
        return t.year * 12 + t.month - 1

    def plus_months(t, n):
        i = index(t) + n
        year, month = divmod(i, 12)
        day = min(t.day, calendar.monthrange(year, month + 1)[1])
        return t.replace(year=year, month=month + 1, day=day)

    for row in result.rows:
        members = [
            c
            for c in customers
            if c.referred == row.referred
            and c.first_order_at < as_of
            and index(c.first_order_at) == row.cohort.year * 12 + row.cohort.month - 1
        ]
        assert row.customers == len(members)
        for k in range(1, 5):
            month = index(members[0].first_order_at) + k
            expected = (
                sum(any(index(o.at) == month for o in c.orders) for c in members)
                if month < index(as_of)
                else None
            )
            assert row.retained[k - 1] == expected
        ended = [c for c in members if plus_months(c.first_order_at, 3) <= as_of]
        assert row.clv_customers == len(ended)
        assert row.clv_total_minor == sum(
            o.amount_minor
            for c in ended
            for o in c.orders
            if o.at < plus_months(c.first_order_at, 3)
        )
    assert sum(r.customers for r in result.rows) == len(customers)
