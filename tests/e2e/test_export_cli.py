"""`referral export` writes every table for BI tools, in CSV and in Parquet, without PII."""

import csv

import pyarrow.parquet as pq

from tests.e2e.test_report_html import _shop


def test_csv_and_parquet_exports_hold_the_same_rows_and_no_contact_details(cli, tmp_path):
    assert cli("db", "upgrade").code == 0
    _shop(cli.database_url)
    as_csv = cli("export", str(tmp_path / "csv"))
    as_parquet = cli("export", "--format", "parquet", str(tmp_path / "pq"))
    assert as_csv.code == 0 and as_parquet.code == 0, as_csv.stderr + as_parquet.stderr
    assert "referrals.csv: 3 rows" in as_csv.stdout

    with (tmp_path / "csv" / "referrals.csv").open() as f:
        referrals = list(csv.DictReader(f))
    table = pq.read_table(tmp_path / "pq" / "referrals.parquet")
    assert len(referrals) == table.num_rows == 3
    assert {r["status"] for r in referrals} == set(table.column("status").to_pylist())
    assert str(table.schema.field("referred_at").type) == "timestamp[us, tz=UTC]"
    grants = pq.read_table(tmp_path / "pq" / "reward_grants.parquet")
    assert str(grants.schema.field("amount_minor").type) == "int64"

    everything = "".join(p.read_text() for p in (tmp_path / "csv").glob("*.csv"))
    assert "@example" not in everything and "Lovelace" not in everything
    empty = pq.read_table(tmp_path / "pq" / "reviews.parquet")
    assert empty.num_rows == 0 and "decision" in empty.column_names


def test_an_unknown_table_is_named(cli, tmp_path):
    assert cli("db", "upgrade").code == 0
    wrong = cli("export", "--table", "passwords", str(tmp_path))
    assert (wrong.code, wrong.stderr.strip()) == (1, "error: no table 'passwords' to export")
