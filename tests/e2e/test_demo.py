"""The demo as a user runs it: the whole pipeline, twice, the second run changing nothing."""

KEYS = ("customers", "advocates", "codes", "clicks", "conversions", "referrals", "grants")


def test_the_demo_rewards_referrals_and_can_run_twice(cli):
    first = cli("demo", "--customers", "2000", "--json")
    assert first.code == 0, first.stderr[-2000:]
    summary = first.json()
    assert summary["customers"] >= 2000
    assert summary["advocates"] == summary["codes"] > 0
    assert summary["conversions"]["purchase"] > 0
    assert summary["referrals"].get("rewarded", 0) > 0
    issued = [g for g in summary["grants"] if g["status"] == "issued"]
    assert issued and all(isinstance(g["amount_minor"], int) for g in issued)

    second = cli("demo", "--customers", "2000", "--json")
    assert second.code == 0, second.stderr[-2000:]
    again = second.json()
    assert {k: again[k] for k in KEYS} == {k: summary[k] for k in KEYS}
    assert again["enrolment"]["enrolled"] == 0
    assert again["processed"]["conversions"] == 0
    assert again["rewards"]["grants_issued"] == 0


def test_the_demo_prints_a_table_of_what_it_did(cli):
    result = cli("demo", "--customers", "500")
    assert result.code == 0, result.stderr[-2000:]
    for line in ("Referral demo: program friends", "advocates", "cost of issued rewards"):
        assert line in result.stdout
