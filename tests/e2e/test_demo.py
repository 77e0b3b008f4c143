"""The demo as a user runs it: the whole pipeline, twice, the second run changing nothing.

The shop is smaller than the demo's 1,500 advocates, so its simulated referees, customers
after the first run, would be enrolled by the second if the demo did not hold to its shop."""

import re


def count_in_table(table: str, row: str) -> int:
    """The count column of a row of the demo's table: `│ customers │   735 │ ...`."""
    found = re.search(rf"│ {re.escape(row)}\s+│\s+([\d,]+) │", table)
    assert found, f"no row {row!r} in:\n{table}"
    return int(found.group(1).replace(",", ""))


def test_the_demo_rewards_referrals_and_a_second_run_changes_nothing(cli):
    first = cli("demo", "--customers", "500", "--json")
    assert first.code == 0, first.stderr[-2000:]
    summary = first.json()
    assert summary["customers"] >= 500
    assert summary["advocates"] == summary["codes"] == 500
    assert summary["conversions"]["purchase"] > 0
    assert summary["referrals"].get("rewarded", 0) > 0
    issued = [g for g in summary["grants"] if g["status"] == "issued"]
    assert issued and all(isinstance(g["amount_minor"], int) for g in issued)

    # The second run, without --json, prints a table: the same state, nothing new.
    again = cli("demo", "--customers", "500")
    assert again.code == 0, again.stderr[-2000:]
    table = again.stdout
    assert "Referral demo: program friends v1" in table
    assert "cost of issued rewards" in table
    assert "│ 0 newly enrolled, 500 codes" in table
    assert count_in_table(table, "customers") == summary["customers"]
    assert count_in_table(table, "advocates") == summary["advocates"]
    assert count_in_table(table, "link clicks") == summary["clicks"]
    for kind, n in summary["conversions"].items():
        assert count_in_table(table, f"conversions: {kind}") == n
    for status, n in summary["referrals"].items():
        assert count_in_table(table, f"referrals: {status}") == n
    for grant in summary["grants"]:
        row = f"rewards: {grant['reward_type']} {grant['status']}"
        assert count_in_table(table, row) == grant["count"]
