"""`referral report` as marketing ops run it: tables, JSON, and one-line mistakes."""

from pathlib import Path

BUNDLED = Path(__file__).resolve().parents[2] / "config" / "programs"


def test_the_report_shows_every_program_and_names_mistakes(cli):
    assert cli("db", "upgrade").code == 0
    assert cli("programs", "apply", str(BUNDLED / "friends.yaml")).code == 0
    found = cli("report", "--json", "--since", "2026-01-01").json()
    (friends,) = found["programs"]
    assert friends["program"] == "friends"
    assert [s["name"] for s in friends["funnel"]][-2:] == ["signups", "purchases"]
    assert friends["economics"]["roi"] is None  # nothing spent yet: no ratio
    assert found["review_queue"]["open"] == 0
    table = cli("report")
    assert table.code == 0 and "Funnel" in table.stdout and "Top referrers" in table.stdout
    missing = cli("report", "--program", "nope")
    assert (missing.code, missing.stderr.strip()) == (1, "error: no program named 'nope'")
    bad = cli("report", "--since", "last tuesday")
    assert bad.code == 1
    assert bad.stderr.strip() == "error: --since 'last tuesday' is not a date like 2026-11-01"
