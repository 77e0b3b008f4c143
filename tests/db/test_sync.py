"""A CRM sync applies each batch with the watermark move that covers it, in one
transaction: a second sync changes nothing, a crash between batches resumes where the last
committed batch ended, and a crash inside a batch saves neither its rows nor its cursor."""

import threading

import pytest
from sqlalchemy import func, select

import tasks.crm
from db.engine import transaction
from db.models import Conversion, Customer, SyncWatermark
from db.watermarks import WatermarkMoved, advance_watermark, get_watermark, set_watermark
from integrations.crm.files import FileCrm
from tasks.crm import read_watermark, sync_batch
from tests.db.helpers import PEPPER
from tests.integrations.drop import customers_csv, events_jsonl, purchase


@pytest.fixture
def drop(tmp_path):
    customers_csv(tmp_path, "1-customers.csv", count=8)
    nps = {
        "id": "nps-1",
        "type": "nps",
        "occurred_at": "2026-11-01T13:00:00Z",
        "customer": {"external_id": "C0000002"},
        "score": 10,
    }
    events = [purchase(i, customer=f"C000000{i % 8 + 1}") for i in range(5)]
    events_jsonl(tmp_path, "2-events.jsonl", [*events, nps])
    return FileCrm(tmp_path, batch_size=3)


def apply(url, batch, since):
    return sync_batch.fn(
        url,
        batch,
        source="files",
        customer_source="crm",
        since=since,
        pepper=PEPPER,
    )


def sync(url, connector, *, stop_after=None):
    """What the sync-crm flow does, with a crash after `stop_after` batches if asked."""
    cursor = read_watermark.fn(url, "files")
    applied = 0
    for batch in connector.pull(cursor):
        if applied == stop_after:
            break
        cursor = apply(url, batch, cursor)["cursor"]
        applied += 1
    return applied


def state(engine):
    with transaction(engine) as session:
        return (
            session.execute(
                select(Customer.external_id, Customer.nps_score, Customer.updated_at).order_by(
                    Customer.external_id
                )
            ).all(),
            session.execute(
                select(Conversion.external_id, Conversion.customer_id).order_by(
                    Conversion.external_id
                )
            ).all(),
            get_watermark(session, "files"),
        )


def test_a_sync_applies_customers_and_events_and_keeps_its_cursor(engine, database_url, drop):
    assert sync(database_url, drop) == 5  # 3 + 3 + 2 customers, 3 + 3 events
    customers, conversions, cursor = state(engine)
    assert len(customers) == 8 and len(conversions) == 5
    assert cursor == "2-events.jsonl:6"
    assert dict((c[0], c[1]) for c in customers)["C0000002"] == 10  # the NPS answer
    with transaction(engine) as session:
        owner = session.scalar(
            select(Customer.external_id)
            .join(Conversion, Conversion.customer_id == Customer.id)
            .where(Conversion.external_id == "evt-0")
        )
    assert owner == "C0000001"  # events join the CSV's customers, not copies of them


def test_a_second_sync_changes_nothing(engine, database_url, drop):
    sync(database_url, drop)
    before = state(engine)
    assert sync(database_url, drop) == 0
    assert state(engine) == before


def test_replaying_every_batch_rewrites_no_row(engine, database_url, drop):
    sync(database_url, drop)
    before = state(engine)
    with transaction(engine) as session:
        session.execute(SyncWatermark.__table__.delete())
    sync(database_url, drop)  # e.g. an operator resetting the source
    after = state(engine)
    assert after[1:] == before[1:]
    assert [c[:2] for c in after[0]] == [c[:2] for c in before[0]]
    # Unchanged customers are not even rewritten. The one exception is C0000002: the CSV's
    # older NPS answer is written back, then the NPS event sets it again.
    rewritten = {b[0] for b, a in zip(before[0], after[0], strict=True) if b[2] != a[2]}
    assert rewritten <= {"C0000002"}


def test_a_crash_between_batches_resumes_at_the_last_committed_batch(
    engine, database_url, drop, tmp_path_factory
):
    assert sync(database_url, drop, stop_after=2) == 2
    assert state(engine)[2] == "1-customers.csv:6"
    assert sync(database_url, drop) == 3
    resumed = state(engine)

    # The same files synced in one go give the same rows.
    with transaction(engine) as session:
        for model in (Conversion, Customer, SyncWatermark):
            session.execute(model.__table__.delete())
    sync(database_url, drop)
    at_once = state(engine)
    strip = [(c[0], c[1]) for c in resumed[0]], len(resumed[1]), resumed[2]
    assert strip == ([(c[0], c[1]) for c in at_once[0]], len(at_once[1]), at_once[2])


def test_rows_and_watermark_commit_together(engine, database_url, drop, monkeypatch):
    batches = list(drop.pull(None))

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tasks.crm, "record_events", fail)
    apply(database_url, batches[0], None)
    apply(database_url, batches[1], batches[0].cursor)
    apply(database_url, batches[2], batches[1].cursor)
    with pytest.raises(RuntimeError):
        apply(database_url, batches[3], batches[2].cursor)  # events fail: no cursor move
    assert state(engine)[2] == batches[2].cursor

    real_upsert = tasks.crm.upsert_customers

    def upsert_then_fail(session, rows):
        real_upsert(session, rows)
        raise RuntimeError("killed after the customers were written")

    monkeypatch.setattr(tasks.crm, "upsert_customers", upsert_then_fail)
    customers_csv(drop.folder, "3-customers.csv", start=8, count=2)
    (new_customers,) = drop.pull("2-events.jsonl:6")
    with pytest.raises(RuntimeError):
        apply(database_url, new_customers, batches[2].cursor)
    customers, conversions, cursor = state(engine)
    assert len(customers) == 8 and conversions == [] and cursor == batches[2].cursor


def test_a_second_sync_at_the_same_cursor_applies_nothing(engine, database_url, drop):
    first, second, *_ = drop.pull(None)
    apply(database_url, first, None)
    apply(database_url, second, first.cursor)
    with pytest.raises(WatermarkMoved):
        apply(database_url, first, None)  # a run that read the watermark before the first
    with pytest.raises(WatermarkMoved):
        apply(database_url, second, first.cursor)
    assert state(engine)[2] == second.cursor


def test_two_syncs_at_once_the_second_waits_then_stops(engine, database_url, drop):
    first, *_ = drop.pull(None)
    outcome = []
    with transaction(engine) as session:
        advance_watermark(session, "files", since=None, to=first.cursor)

        def rival():
            try:
                apply(database_url, first, None)
            except WatermarkMoved:
                outcome.append("stopped")

        thread = threading.Thread(target=rival)
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive()  # waiting for the first run's transaction
    thread.join(timeout=30)
    assert outcome == ["stopped"]
    assert state(engine)[2] == first.cursor


def test_set_watermark_upserts_and_get_reads_it_back(session):
    assert get_watermark(session, "files") is None
    set_watermark(session, "files", "a.csv:1")
    set_watermark(session, "files", "b.csv:0")
    set_watermark(session, "other", "x")
    assert (get_watermark(session, "files"), get_watermark(session, "other")) == ("b.csv:0", "x")
    assert session.scalar(select(func.count()).select_from(SyncWatermark)) == 2
