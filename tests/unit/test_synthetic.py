"""The synthetic CRM: deterministic, streaming, plausible, and labelled where it matters."""

from __future__ import annotations

import ast
import csv
import dataclasses
import re
import sys
import tracemalloc
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.crm import synthetic
from integrations.crm.synthetic import (
    COUPON_LEAK,
    DISPOSABLE,
    DISPOSABLE_DOMAINS,
    FRAUD_LABELS,
    LEGIT_FAMILY,
    LEGIT_LOOKALIKE_LABELS,
    LEGIT_OFFICE,
    LEGIT_SIMILAR_NAME,
    RING,
    SEGMENTS,
    SELF_REFERRAL_ALIAS,
    SHARED_DEVICE,
    SHARED_PAYMENT,
    VELOCITY_FARM,
    ActivityEvent,
    Advocate,
    Click,
    CustomerRecord,
    Purchase,
    Refund,
    Signup,
    generate_activity,
    generate_customers,
    read_customers_csv,
    write_customers_csv,
)

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
DATETIME_FIELDS = ("customer_since", "nps_at", "first_order_at", "last_order_at")
CURRENCY = {
    "US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "CA": "CAD", "AU": "AUD", "NL": "EUR",
    "ES": "EUR", "IT": "EUR", "IE": "EUR",
}  # fmt: skip
TZ_PREFIX = {
    "US": ("America/", "Pacific/Honolulu"), "CA": ("America/",), "AU": ("Australia/",),
    "GB": ("Europe/London",), "DE": ("Europe/Berlin",), "FR": ("Europe/Paris",),
    "NL": ("Europe/Amsterdam",), "ES": ("Europe/Madrid", "Atlantic/Canary"),
    "IT": ("Europe/Rome",), "IE": ("Europe/Dublin",),
}  # fmt: skip


def normalize(email: str) -> str:
    """What the engine's self-referral check is expected to do with an address."""
    local, _, domain = email.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


@pytest.fixture(scope="module")
def customers_20k() -> list[CustomerRecord]:
    return list(generate_customers(20_000, seed=11, now=NOW))


@pytest.fixture(scope="module")
def advocates() -> list[Advocate]:
    return [
        Advocate.from_customer(c, f"ADV{i:05d}")
        for i, c in enumerate(generate_customers(2_000, seed=5, now=NOW))
    ]


@pytest.fixture(scope="module")
def activity(advocates: list[Advocate]) -> list[ActivityEvent]:
    return list(generate_activity(advocates, seed=5, now=NOW))


@pytest.fixture(scope="module")
def signups(activity: list[ActivityEvent]) -> list[Signup]:
    return [e for e in activity if isinstance(e, Signup)]


# -- customers ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_customers() -> None:
    assert list(generate_customers(3_000, seed=1, now=NOW)) == list(
        generate_customers(3_000, seed=1, now=NOW)
    )


def test_different_seed_gives_different_customers() -> None:
    a = list(generate_customers(200, seed=1, now=NOW))
    b = list(generate_customers(200, seed=2, now=NOW))
    assert [r.external_id for r in a] == [r.external_id for r in b]
    assert sum(x.email != y.email for x, y in zip(a, b, strict=True)) > 190


def test_customer_depends_only_on_seed_and_index() -> None:
    full = list(generate_customers(3_000, seed=4, now=NOW))
    # Starts inside a block and crosses block boundaries.
    assert list(generate_customers(1_500, seed=4, now=NOW, start=1_000)) == full[1_000:2_500]
    assert list(generate_customers(1, seed=4, now=NOW, start=2_999)) == full[2_999:]


@pytest.mark.parametrize("count", [0, 1, 1_023, 1_024, 1_025])
def test_counts_are_exact(count: int) -> None:
    assert sum(1 for _ in generate_customers(count, seed=3, now=NOW)) == count


def test_external_ids_and_emails_unique_over_50k() -> None:
    records = list(generate_customers(50_000, seed=9, now=NOW))
    ids = [r.external_id for r in records]
    assert ids[0] == "C0000001"
    assert len(set(ids)) == len(ids)
    # Even after Gmail-style normalization no two customers share a mailbox, so nobody looks
    # like somebody else's alias by accident.
    assert len({normalize(r.email) for r in records}) == len(records)


def test_records_are_frozen_customer_records(customers_20k: list[CustomerRecord]) -> None:
    record = customers_20k[0]
    assert type(record) is CustomerRecord
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.email = "x@example.com"  # type: ignore[misc]
    assert hash(record) == hash(dataclasses.replace(record))
    assert dataclasses.replace(record, label="x").label == "x"


def test_money_is_integer_minor_units_consistent_with_orders(
    customers_20k: list[CustomerRecord],
) -> None:
    for r in customers_20k:
        assert type(r.total_spend_minor) is int
        assert type(r.orders_count) is int
        if r.orders_count == 0:
            assert r.total_spend_minor == 0
            assert r.first_order_at is None and r.last_order_at is None
        else:
            assert 2_000 <= r.total_spend_minor / r.orders_count <= 20_000
        assert r.currency == CURRENCY[r.country]


def test_datetimes_are_utc_and_before_now(customers_20k: list[CustomerRecord]) -> None:
    for r in customers_20k:
        for name in DATETIME_FIELDS:
            value = getattr(r, name)
            if value is not None:
                assert value.utcoffset() == timedelta(0)
                assert value < NOW
        assert NOW - r.customer_since <= timedelta(days=8 * 365 + 1)
        if r.first_order_at is not None:
            assert r.last_order_at is not None
            assert r.customer_since <= r.first_order_at <= r.last_order_at
        assert (r.nps_score is None) == (r.nps_at is None)
        if r.nps_at is not None:
            assert r.nps_at >= r.customer_since


def test_contact_fields_and_consents(customers_20k: list[CustomerRecord]) -> None:
    n = len(customers_20k)
    with_phone = [r for r in customers_20k if r.phone is not None]
    assert 0.65 < len(with_phone) / n < 0.75
    assert 0.82 < sum(r.consent_email for r in customers_20k) / n < 0.88
    for r in customers_20k:
        if r.phone is None:
            assert not r.consent_sms and not r.consent_whatsapp
        else:
            assert E164.match(r.phone), r.phone
        if r.preferred_channel == "sms":
            assert r.consent_sms
        elif r.preferred_channel == "whatsapp":
            assert r.consent_whatsapp
        else:
            assert r.preferred_channel == "email"
            assert r.consent_email or not (r.consent_sms or r.consent_whatsapp)
        if not r.consent_email:
            assert r.email_opens_90d == r.email_clicks_90d == 0
        assert 0 <= r.email_clicks_90d <= r.email_opens_90d
        assert r.address_line1 and r.postcode
        assert r.name.count(" ") >= 1
        assert r.timezone.startswith(TZ_PREFIX[r.country])
    assert 0.35 < sum(r.consent_sms for r in with_phone) / len(with_phone) < 0.45
    assert 0.15 < sum(r.consent_whatsapp for r in with_phone) / len(with_phone) < 0.35


def test_email_mix_is_realistic(customers_20k: list[CustomerRecord]) -> None:
    domains = Counter(r.email.rpartition("@")[2].lower() for r in customers_20k)
    assert domains.most_common(1)[0][0] == "gmail.com"
    assert 0 < domains["googlemail.com"] < domains["gmail.com"] / 10
    assert domains["yahoo.com"] and domains["outlook.com"]
    assert any(not d.isascii() for d in domains)  # a few IDN domains
    assert sum(not d.isascii() for d in domains.elements()) < len(customers_20k) / 100


def test_segment_distribution_is_plausible(customers_20k: list[CustomerRecord]) -> None:
    share = {
        s: n / len(customers_20k) for s, n in Counter(r.segment for r in customers_20k).items()
    }
    assert set(share) == set(SEGMENTS)
    assert max(share, key=share.__getitem__) == "regular"
    assert 0.01 < share["vip"] < 0.06
    answered = [r for r in customers_20k if r.nps_score is not None]
    assert 0.38 < len(answered) / len(customers_20k) < 0.52

    def promoters(segments: tuple[str, ...]) -> float:
        scores = [r.nps_score for r in answered if r.segment in segments]
        return sum(s is not None and s >= 9 for s in scores) / len(scores)

    assert promoters(("vip", "loyal")) > 0.6
    assert promoters(("churned", "at_risk")) < 0.3
    mean_orders = {
        s: sum(r.orders_count for r in customers_20k if r.segment == s) / (share[s] * 20_000)
        for s in SEGMENTS
    }
    assert mean_orders["vip"] > mean_orders["regular"] > mean_orders["new"]


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        generate_customers(1, seed=1, now=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        generate_activity([], seed=1, now=datetime(2025, 1, 1))


def test_customers_stream_in_flat_memory() -> None:
    stream = generate_customers(200_000, seed=2, now=NOW)
    blocks: list[int] = []
    for i, _ in enumerate(stream):
        if i % 20_000 == 19_999:
            blocks.append(sys.getallocatedblocks())
    # Holding on to rows would add ~30 blocks a row (millions); streaming adds none.
    assert max(blocks) - min(blocks) < 2_000
    # tracemalloc slows the generator ~35x, so it measures a shorter stretch of the stream.
    tracemalloc.start()
    try:
        for _ in generate_customers(2_000, seed=2, now=NOW, start=100_000):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


def test_csv_round_trip(tmp_path: Path) -> None:
    records = list(generate_customers(300, seed=8, now=NOW))
    path = tmp_path / "customers.csv"
    assert write_customers_csv(path, iter(records)) == 300
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [f.name for f in dataclasses.fields(CustomerRecord)]
    assert len(rows) == 301
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    assert first["customer_since"].endswith("+00:00")
    assert first["label"] == ""
    assert list(read_customers_csv(path)) == records


def test_module_uses_only_the_standard_library() -> None:
    tree = ast.parse(Path(synthetic.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}, roots


# -- activity ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_activity(
    advocates: list[Advocate], activity: list[ActivityEvent]
) -> None:
    assert list(generate_activity(advocates, seed=5, now=NOW)) == activity


def test_different_seed_gives_different_activity(
    advocates: list[Advocate], activity: list[ActivityEvent]
) -> None:
    other = list(generate_activity(advocates[:300], seed=6, now=NOW))
    assert other != list(generate_activity(advocates[:300], seed=5, now=NOW))


def test_activity_is_in_time_order_and_before_now(activity: list[ActivityEvent]) -> None:
    times = [e.occurred_at for e in activity]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) and t < NOW for t in times)
    clicks = [e for e in activity if isinstance(e, Click)]
    assert all(c.occurred_at >= NOW - timedelta(days=30, seconds=1) for c in clicks)


def test_activity_volumes_are_realistic(
    advocates: list[Advocate], activity: list[ActivityEvent], signups: list[Signup]
) -> None:
    clicks = [e for e in activity if isinstance(e, Click) and e.label is None]
    organic = [s for s in signups if s.label is None]
    from_clicks = [s for s in organic if s.visitor_id is not None]
    assert 0.2 < len(from_clicks) / len(clicks) < 0.4
    sharing_codes = {c.code for c in clicks}
    assert 0.25 < len(sharing_codes) / len(advocates) < 0.45
    buyers = {
        e.customer_external_id
        for e in activity
        if isinstance(e, Purchase) and e.label is None and e.customer_external_id.startswith("R")
    }
    assert 0.5 < len(buyers) / len(organic) < 0.75
    purchases = [e for e in activity if isinstance(e, Purchase)]
    assert any(p.amount_minor < 2_000 for p in purchases)
    refunds = [e for e in activity if isinstance(e, Refund)]
    assert 0.02 < len(refunds) / len(purchases) < 0.09
    fraud = [s for s in signups if s.label in FRAUD_LABELS]
    assert 0.02 < len(fraud) / len(signups) < 0.1


def test_promo_code_path(activity: list[ActivityEvent], signups: list[Signup]) -> None:
    promo = [s for s in signups if s.label is None and s.visitor_id is None]
    assert promo and all(s.code for s in promo)
    ids = {s.customer.external_id: s.code for s in promo}
    with_code = [e for e in activity if isinstance(e, Purchase) and e.customer_external_id in ids]
    assert with_code
    assert all(p.promo_code in (None, ids[p.customer_external_id]) for p in with_code)
    assert any(p.promo_code == ids[p.customer_external_id] for p in with_code)


def test_purchases_reference_signed_up_referees_or_customers(
    advocates: list[Advocate], activity: list[ActivityEvent]
) -> None:
    known = {a.external_id for a in advocates}
    purchases: dict[str, Purchase] = {}
    event_ids: set[str] = set()
    for event in activity:
        if isinstance(event, Signup):
            assert event.customer.external_id not in known
            known.add(event.customer.external_id)
            assert event.event_id not in event_ids
            event_ids.add(event.event_id)
        elif isinstance(event, Purchase):
            assert event.customer_external_id in known
            assert type(event.amount_minor) is int and event.amount_minor > 0
            assert event.order_id not in purchases and event.event_id not in event_ids
            purchases[event.order_id] = event
            event_ids.add(event.event_id)
        elif isinstance(event, Refund):
            bought = purchases[event.order_id]
            assert bought.occurred_at < event.occurred_at
            assert bought.customer_external_id == event.customer_external_id
            assert 0 < event.amount_minor <= bought.amount_minor
            assert event.currency == bought.currency
            assert event.event_id not in event_ids
            event_ids.add(event.event_id)


def test_signups_follow_their_click(activity: list[ActivityEvent]) -> None:
    clicked: dict[str, Click] = {}
    for event in activity:
        if isinstance(event, Click):
            clicked[event.visitor_id] = event
        elif isinstance(event, Signup) and event.visitor_id is not None:
            click = clicked[event.visitor_id]
            assert click.code == event.code and click.occurred_at < event.occurred_at
            assert event.customer.customer_since == event.occurred_at


def test_every_label_appears_with_enough_advocates(
    activity: list[ActivityEvent], signups: list[Signup]
) -> None:
    labels = {s.label for s in signups}
    for label in (*FRAUD_LABELS, *LEGIT_LOOKALIKE_LABELS):
        assert label in labels, label
    for s in signups:
        assert s.customer.label == s.label
    assert {e.label for e in activity if isinstance(e, Click)} >= set(FRAUD_LABELS) - {COUPON_LEAK}


def test_referee_ids_and_emails_never_collide_with_customers(
    customers_20k: list[CustomerRecord], signups: list[Signup]
) -> None:
    referee_ids = [s.customer.external_id for s in signups]
    assert len(set(referee_ids)) == len(referee_ids)
    assert all(re.fullmatch(r"R\d+", r) for r in referee_ids)
    # Customer ids and emails do not depend on the seed's digits, so any seed's customers will do.
    customers = customers_20k
    assert not {c.external_id for c in customers} & set(referee_ids)
    lookalikes = {SELF_REFERRAL_ALIAS, RING}
    customer_mailboxes = {normalize(c.email) for c in customers}
    referee_mailboxes = [normalize(s.customer.email) for s in signups if s.label not in lookalikes]
    assert len(set(referee_mailboxes)) == len(referee_mailboxes)
    assert not customer_mailboxes & set(referee_mailboxes)


def _by_code(signups: list[Signup], label: str) -> dict[str | None, list[Signup]]:
    groups: dict[str | None, list[Signup]] = defaultdict(list)
    for s in signups:
        if s.label == label:
            groups[s.code].append(s)
    assert groups
    return groups


def test_self_referral_alias_points_back_to_the_advocate(
    advocates: list[Advocate], activity: list[ActivityEvent], signups: list[Signup]
) -> None:
    advocate = {a.code: a for a in advocates}
    own_clicks = {
        e.visitor_id: e for e in activity if isinstance(e, Click) and e.label == SELF_REFERRAL_ALIAS
    }
    for code, group in _by_code(signups, SELF_REFERRAL_ALIAS).items():
        adv = advocate[code]
        for s in group:
            assert s.customer.email != adv.email
            same_mailbox = normalize(s.customer.email) == normalize(adv.email)
            same_door = (s.customer.address_line1, s.customer.postcode) == (
                adv.address_line1,
                adv.postcode,
            )
            assert same_mailbox or same_door
            assert s.visitor_id is not None
            assert own_clicks[s.visitor_id].device_id == s.device_id


def test_disposable_domains(signups: list[Signup]) -> None:
    for group in _by_code(signups, DISPOSABLE).values():
        for s in group:
            assert s.customer.email.rpartition("@")[2] in DISPOSABLE_DOMAINS


def test_velocity_farm_bursts(signups: list[Signup]) -> None:
    for group in _by_code(signups, VELOCITY_FARM).values():
        assert 15 <= len(group) <= 40
        times = [s.occurred_at for s in group]
        assert max(times) - min(times) <= timedelta(hours=1, minutes=5)
        assert len({s.device_id for s in group}) <= 3
        stems = {re.sub(r"\d+@.*$", "", s.customer.email) for s in group}
        assert len(stems) == 1


def test_ring_forms_a_cycle(advocates: list[Advocate], signups: list[Signup]) -> None:
    by_mailbox = {normalize(a.email): a.code for a in advocates}
    edges = {s.code: by_mailbox[normalize(s.customer.email)] for s in signups if s.label == RING}
    assert len(edges) >= 3
    start = next(iter(edges))
    seen = [start]
    while (nxt := edges[seen[-1]]) != start:
        assert nxt not in seen
        seen.append(nxt)
    assert 3 <= len(seen) <= 5


def test_shared_device_and_shared_payment(
    activity: list[ActivityEvent], signups: list[Signup]
) -> None:
    for group in _by_code(signups, SHARED_DEVICE).values():
        assert len(group) >= 3 and len({s.device_id for s in group}) == 1
        assert len({normalize(s.customer.email) for s in group}) == len(group)
    paid = [e for e in activity if isinstance(e, Purchase) and e.label == SHARED_PAYMENT]
    cards = Counter(p.payment_fingerprint for p in paid)
    assert cards.most_common(1)[0][1] >= 3


def test_coupon_leak_uses_the_code_without_clicks(
    activity: list[ActivityEvent], signups: list[Signup]
) -> None:
    for code, group in _by_code(signups, COUPON_LEAK).items():
        assert len(group) >= 6
        assert all(s.visitor_id is None for s in group)
        promo = [
            e
            for e in activity
            if isinstance(e, Purchase) and e.label == COUPON_LEAK and e.promo_code == code
        ]
        assert len(promo) >= len(group) * 0.8


def test_legit_lookalikes(advocates: list[Advocate], signups: list[Signup]) -> None:
    advocate = {a.code: a for a in advocates}
    for code, group in _by_code(signups, LEGIT_FAMILY).items():
        adv = advocate[code]
        for s in group:
            assert (s.customer.address_line1, s.customer.postcode) == (
                adv.address_line1,
                adv.postcode,
            )
            assert s.customer.name.split(" ", 1)[1] == (adv.name or "").split(" ", 1)[1]
            assert s.customer.name != adv.name
            assert normalize(s.customer.email) != normalize(adv.email)
    for group in _by_code(signups, LEGIT_OFFICE).values():
        assert len({s.ip for s in group}) == 1
        assert len({s.device_id for s in group}) == len(group) >= 2
    for code, group in _by_code(signups, LEGIT_SIMILAR_NAME).items():
        adv = advocate[code]
        for s in group:
            assert s.customer.name != adv.name
            assert normalize(s.customer.email) != normalize(adv.email)
            assert s.customer.address_line1 != adv.address_line1


def test_patterns_need_no_names_or_countries(advocates: list[Advocate]) -> None:
    bare = [
        Advocate(a.external_id, a.code, a.email, a.address_line1, a.postcode)
        for a in advocates[:600]
    ]
    events = list(generate_activity(bare, seed=1, now=NOW, days=7))
    labels = {e.label for e in events if isinstance(e, Signup)}
    assert set(FRAUD_LABELS) | set(LEGIT_LOOKALIKE_LABELS) <= labels
    assert all(e.occurred_at >= NOW - timedelta(days=14) for e in events)


def test_activity_rejects_duplicate_advocates(advocates: list[Advocate]) -> None:
    with pytest.raises(ValueError):
        generate_activity([advocates[0], advocates[0]], seed=1, now=NOW)
