"""Retention and customer lifetime value of referred and other customers, by monthly cohort.

Definitions:

- cohort: the UTC calendar month of a customer's first order. Customers whose first order
  is at or after `as_of` are not in any cohort yet.
- retention in month k (k = 1, 2, ...): the share of a cohort that placed at least one order
  in the k-th calendar month after the cohort month (an order later in the cohort month
  itself does not count). Month k is reported only once it has ended by `as_of`; before
  that it is None, so the current month never shows as a false drop.
- CLV over N months: the sum of a customer's order amounts (net of refunds, minor units of
  the report currency) from the first order, included, up to the same instant N calendar
  months later, excluded (`periods.add_months`). Only customers whose window has ended by
  `as_of` are counted, so a cohort's mean is never diluted by windows still open.

`cohort_cells` turns per-customer rows into `CohortCell` aggregates; the database layer may
instead compute those cells in SQL with the same definitions. `cohort_report` turns cells
into rates and means.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from referral.analytics.periods import Month, add_months, as_utc
from referral.analytics.ratios import per_unit_minor, rate


@dataclass(frozen=True, slots=True)
class Order:
    at: datetime
    amount_minor: int


@dataclass(frozen=True, slots=True)
class CustomerOrders:
    """One customer: `orders` are all of their orders, the first one included, in any
    order. `referred` is True when the customer came through a referral."""

    customer_id: int
    referred: bool
    first_order_at: datetime
    orders: Sequence[Order]


@dataclass(frozen=True, slots=True)
class CohortCell:
    """What one cohort of referred (or other) customers did, as counts and sums.

    - `retained[k-1]`: customers with an order in month k after the cohort month, for
      k = 1..retention_months (0 for a month not yet ended; `cohort_report` hides those).
    - `clv_customers`: customers whose CLV window has ended by `as_of`.
    - `clv_total_minor`: the sum of their CLVs.
    """

    cohort: Month
    referred: bool
    customers: int
    retained: tuple[int, ...]
    clv_customers: int
    clv_total_minor: int


def cohort_cells(
    customers: Iterable[CustomerOrders],
    *,
    as_of: datetime,
    retention_months: int,
    clv_months: int,
) -> list[CohortCell]:
    """Per-customer rows to cohort cells, ordered by cohort, referred first."""
    _check_horizons(retention_months, clv_months)
    as_of = as_utc(as_of)
    current = _month_index(as_of)
    # Keyed by month index (year * 12 + month - 1): a million customers with a few orders
    # each is the expected load, and integer months keep the loop to arithmetic.
    cells: dict[tuple[int, bool], _Cell] = {}
    for customer in customers:
        first = _utc(customer.first_order_at)
        if first >= as_of:
            continue
        cohort = _month_index(first)
        cell = cells.get((cohort, customer.referred))
        if cell is None:
            cell = cells[(cohort, customer.referred)] = _Cell(retention_months)
        cell.customers += 1
        # Month k has ended by as_of exactly when as_of falls in month k + 1 or later.
        last_ended = min(retention_months, current - cohort - 1)
        window_end = add_months(first, clv_months)
        clv = 0
        months: set[int] = set()
        for order in customer.orders:
            at = _utc(order.at)
            if at < first:
                raise ValueError(
                    f"customer {customer.customer_id} has an order before their first order"
                )
            k = _month_index(at) - cohort
            if 1 <= k <= last_ended:
                months.add(k)
            if at < window_end:
                clv += order.amount_minor
        for k in months:
            cell.retained[k - 1] += 1
        if window_end <= as_of:
            cell.clv_customers += 1
            cell.clv_total_minor += clv
    return [
        CohortCell(
            cohort=Month(cohort // 12, cohort % 12 + 1),
            referred=referred,
            customers=cell.customers,
            retained=tuple(cell.retained),
            clv_customers=cell.clv_customers,
            clv_total_minor=cell.clv_total_minor,
        )
        for (cohort, referred), cell in sorted(
            cells.items(), key=lambda kv: (kv[0][0], not kv[0][1])
        )
    ]


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is UTC else as_utc(at)


def _month_index(at: datetime) -> int:
    return at.year * 12 + at.month - 1


class _Cell:
    __slots__ = ("clv_customers", "clv_total_minor", "customers", "retained")

    def __init__(self, retention_months: int) -> None:
        self.customers = 0
        self.retained = [0] * retention_months
        self.clv_customers = 0
        self.clv_total_minor = 0


@dataclass(frozen=True, slots=True)
class CohortRow:
    cohort: Month
    referred: bool
    customers: int
    retained: tuple[int | None, ...]
    """Per month k = 1..retention_months; None while month k has not ended."""
    retention: tuple[float | None, ...]
    clv_customers: int
    clv_total_minor: int
    clv_mean_minor: int | None
    """None while no customer's window has ended."""


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """All cohorts of one group pooled: month k's retention over the cohorts where month k
    has ended, CLV over every customer whose window has ended."""

    referred: bool
    customers: int
    retention: tuple[float | None, ...]
    clv_customers: int
    clv_mean_minor: int | None


@dataclass(frozen=True, slots=True)
class CohortReport:
    as_of: datetime
    retention_months: int
    clv_months: int
    rows: tuple[CohortRow, ...]
    referred: GroupSummary
    other: GroupSummary


def cohort_report(
    cells: Iterable[CohortCell],
    *,
    as_of: datetime,
    retention_months: int,
    clv_months: int,
) -> CohortReport:
    _check_horizons(retention_months, clv_months)
    as_of = as_utc(as_of)
    rows: list[CohortRow] = []
    for cell in sorted(cells, key=lambda c: (c.cohort, not c.referred)):
        if len(cell.retained) != retention_months:
            raise ValueError(f"cohort {cell.cohort} has {len(cell.retained)} retention months")
        retained = tuple(
            count if cell.cohort.plus(k).end <= as_of else None
            for k, count in enumerate(cell.retained, start=1)
        )
        rows.append(
            CohortRow(
                cohort=cell.cohort,
                referred=cell.referred,
                customers=cell.customers,
                retained=retained,
                retention=tuple(
                    None if count is None else rate(count, cell.customers) for count in retained
                ),
                clv_customers=cell.clv_customers,
                clv_total_minor=cell.clv_total_minor,
                clv_mean_minor=per_unit_minor(cell.clv_total_minor, cell.clv_customers),
            )
        )
    return CohortReport(
        as_of=as_of,
        retention_months=retention_months,
        clv_months=clv_months,
        rows=tuple(rows),
        referred=_pool([r for r in rows if r.referred], True, retention_months),
        other=_pool([r for r in rows if not r.referred], False, retention_months),
    )


def _pool(rows: list[CohortRow], referred: bool, retention_months: int) -> GroupSummary:
    retention: list[float | None] = []
    for index in range(retention_months):
        observed = [r for r in rows if r.retained[index] is not None]
        retention.append(
            rate(sum(r.retained[index] or 0 for r in observed), sum(r.customers for r in observed))
        )
    clv_customers = sum(r.clv_customers for r in rows)
    return GroupSummary(
        referred=referred,
        customers=sum(r.customers for r in rows),
        retention=tuple(retention),
        clv_customers=clv_customers,
        clv_mean_minor=per_unit_minor(sum(r.clv_total_minor for r in rows), clv_customers),
    )


def _check_horizons(retention_months: int, clv_months: int) -> None:
    if retention_months < 1 or clv_months < 1:
        raise ValueError("retention_months and clv_months must be at least 1")
