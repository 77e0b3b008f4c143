"""The report split by channel and by campaign equals a recount of the raw rows."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.analytics import program_figures
from db.breakdowns import by_campaign, by_channel
from db.models import Campaign, Referral
from db.report import report
from tests.db.helpers import NOW, advocate_with_code, click, event, referred_purchase, run_pipeline

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _typed_code_purchase(session, code, referee, amount):
    """A friend who typed the code at checkout, without ever clicking a link."""
    event(
        session, id=f"su-{referee}", type="signup", occurred_at=NOW - timedelta(minutes=30),
        referral_code=code, customer={"external_id": referee, "email": f"{referee}@example.net"},
    )  # fmt: skip
    event(
        session, id=f"po-{referee}", type="purchase", occurred_at=NOW, order_id=f"O-{referee}",
        amount=amount, currency="USD", referral_code=code, customer={"external_id": referee},
    )  # fmt: skip


def _shop(session):
    """Two friends came by the emailed link (one bought too little), one typed the code, and
    a WhatsApp link was clicked by nobody who signed up."""
    loaded, code = advocate_with_code(session)
    referred_purchase(session, code, referee="NEW1", amount="40.00")
    referred_purchase(session, code, referee="NEW2", amount="10.00")
    _typed_code_purchase(session, code, "NEW3", "80.00")
    click(session, code, visitor="v-9", at=NOW - timedelta(hours=3), channel="whatsapp")
    run_pipeline(session)
    return loaded


def test_each_referral_keeps_the_channel_it_came_from(session):
    _shop(session)
    channels = dict(session.execute(select(Referral.attributed_by, Referral.channel)).all())
    assert channels == {"link": "email", "promo_code": "promo_code"}


def test_channels_split_the_funnel_and_the_money(session):
    loaded = _shop(session)
    found = {s.name: s for s in by_channel(session, loaded.id, "USD", SINCE)}
    assert set(found) == {"email", "promo_code", "whatsapp"}
    email, typed, whatsapp = found["email"], found["promo_code"], found["whatsapp"]
    assert (email.link_clicks, email.signups, email.purchases) == (2, 2, 1)
    assert (typed.link_clicks, typed.signups, typed.purchases) == (0, 1, 1)
    assert (whatsapp.link_clicks, whatsapp.signups, whatsapp.purchases) == (1, 0, 0)
    assert (email.revenue_minor, typed.revenue_minor, whatsapp.revenue_minor) == (4000, 8000, 0)
    # Referral rewards only (no milestones here): the channels add up to the program.
    whole = program_figures(session, loaded.id, "USD", SINCE)
    assert sum(s.revenue_minor for s in found.values()) == whole.revenue_minor
    costs = [c for s in found.values() for c in s.costs]
    assert sum(c.amount_minor for c in costs) == sum(c.amount_minor for c in whole.costs)
    # NEW1's purchase: the referrer's 10.00 credit and NEW1's 15% off 40.00.
    assert {(c.reward_type.value, c.amount_minor) for c in email.costs} == {
        ("credit", 1000),
        ("discount", 600),
    }


def test_the_report_prices_each_channel_and_ranks_them_by_revenue(session):
    _shop(session)
    (section,) = report(session, SINCE)["programs"]
    names = [c["name"] for c in section["by_channel"]]
    assert names == ["promo_code", "email", "whatsapp"]
    email = section["by_channel"][1]
    assert email["funnel"]["signups"] == 2 and email["signup_to_purchase"] == 0.5
    assert email["revenue_share"] == 4000 / 12000
    assert email["roi"] == (4000 - email["cost_minor"]) / email["cost_minor"]


def test_a_campaign_counts_what_happened_inside_its_window(session):
    loaded = _shop(session)
    session.add_all(
        [
            Campaign(program_id=loaded.id, slug="autumn", name="Autumn",
                     starts_at=NOW - timedelta(days=1), ends_at=NOW - timedelta(minutes=45)),
            Campaign(program_id=loaded.id, slug="late", name="Late",
                     starts_at=NOW - timedelta(minutes=45), ends_at=NOW + timedelta(days=1)),
        ]
    )  # fmt: skip
    session.flush()
    autumn, late = by_campaign(session, loaded.id, "USD", SINCE)
    # The link sign-ups came an hour before NOW, the typed code 30 minutes before.
    assert (autumn.name, autumn.signups, autumn.purchases, autumn.revenue_minor) == (
        "autumn", 2, 1, 4000,
    )  # fmt: skip
    assert (late.name, late.signups, late.purchases, late.revenue_minor) == ("late", 1, 1, 8000)
    # Clicks at NOW-2h (twice) and NOW-3h: all in autumn's window.
    assert (autumn.link_clicks, late.link_clicks) == (3, 0)


def test_a_campaign_that_ended_before_the_report_starts_is_left_out(session):
    loaded = _shop(session)
    spring = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    session.add(
        Campaign(program_id=loaded.id, slug="spring", name="Spring",
                 starts_at=spring[0], ends_at=spring[1])
    )  # fmt: skip
    session.flush()
    assert by_campaign(session, loaded.id, "USD", SINCE) == []


def test_the_report_has_months_and_a_seasonal_profile(session):
    _shop(session)
    (section,) = report(session, datetime(2026, 10, 1, tzinfo=UTC))["programs"]
    assert [(m["month"], m["referrals"]) for m in section["monthly"]] == [
        ("2026-10", 0),
        ("2026-11", 3),
    ]
    november = section["seasonal"][10]
    assert (november["month"], november["years"], november["total"]) == (11, 1, 3)
    assert section["seasonal"][0]["mean"] is None  # no January in the range
