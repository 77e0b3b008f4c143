"""sync-crm on a real Prefect API: the drop folder's files are applied a batch per task,
a second run applies nothing, a new file is picked up, and a bad line stops the run after
the good batches, which the next run does not repeat."""

import asyncio

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import func, select

from config.settings import SettingsError
from db.engine import transaction
from db.models import Conversion, Customer
from flows.sync_crm import sync_crm
from integrations.crm.base import CrmReadError
from tasks.crm import UnknownConnector
from tests.integrations.drop import customers_csv, events_jsonl, purchase


@pytest.fixture
def drop(flow_env, tmp_path, monkeypatch):
    monkeypatch.setenv("REFERRAL_BATCH_SIZE", "100")
    folder = tmp_path / "crm-drop"  # the default under REFERRAL_DATA_DIR
    folder.mkdir()
    customers_csv(folder, "2026-11-01-customers.csv", count=250)
    events_jsonl(
        folder, "2026-11-02-events.jsonl", [purchase(i, f"C{i:07d}") for i in range(1, 41)]
    )
    return folder


def counts(engine):
    with transaction(engine) as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (Customer, Conversion)
        )


def test_the_folder_is_synced_once_and_new_files_are_picked_up(engine, drop):
    first = sync_crm()
    assert (first["batches"], first["customers"], first["events"]) == (4, 250, 40)
    assert first["cursor"] == "2026-11-02-events.jsonl:40"
    assert counts(engine) == (250, 40)

    again = sync_crm()
    assert (again["batches"], again["cursor_before"], again["cursor"]) == (
        0,
        first["cursor"],
        first["cursor"],
    )

    customers_csv(drop, "2026-11-03-customers.csv", start=250, count=5)
    new = sync_crm()
    assert (new["batches"], new["customers"], new["cursor"]) == (
        1,
        5,
        "2026-11-03-customers.csv:5",
    )
    assert counts(engine) == (255, 40)


def test_a_bad_line_stops_the_run_and_the_next_run_resumes(engine, drop):
    events = drop / "2026-11-02-events.jsonl"
    good = events.read_text()
    events_jsonl(drop, events.name, ["{not json"], mode="a")
    with pytest.raises(CrmReadError, match=r"2026-11-02-events\.jsonl, line 41"):
        sync_crm()
    assert counts(engine) == (250, 40)  # every batch before the bad line is in

    events.write_text(good)  # the exporter fixes its file
    events_jsonl(drop, events.name, [purchase(41, "C0000041")], mode="a")
    resumed = sync_crm()
    assert (resumed["batches"], resumed["events"]) == (1, 1)
    assert counts(engine) == (250, 41)


def test_another_folder_and_an_unknown_source(engine, flow_env, tmp_path):
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    customers_csv(elsewhere, "a.csv", count=3)
    assert sync_crm(folder=str(elsewhere))["customers"] == 3
    with pytest.raises(UnknownConnector, match="connectors: files, hubspot, salesforce"):
        sync_crm(source="pipedrive")
    with pytest.raises(SettingsError, match="REFERRAL_CRM__SALESFORCE_CLIENT_ID is not set"):
        sync_crm(source="salesforce")


def test_the_run_publishes_its_summary(engine, drop):
    sync_crm()

    async def artifacts():
        async with get_client() as client:
            return [a for a in await client.read_artifacts() if a.key == "sync-crm"]

    text = str(asyncio.run(artifacts())[0].data)
    assert "customers upserted" in text and "events recorded" in text and "cursor" in text
