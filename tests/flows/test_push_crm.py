"""push-crm on a real Prefect API with the file CRM: the referred lead and both contacts'
referral state are written down once, a second run writes nothing, and a change is
written again."""

import json

from sqlalchemy import update

from db.engine import transaction
from db.models import Referral
from flows.push_crm import push_crm
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline


def test_the_crm_hears_of_each_lead_once_and_of_each_change(engine, flow_env, tmp_path):
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        referred_purchase(session, code)
        run_pipeline(session)
    folder = tmp_path / "crm-writeback"

    first = push_crm()
    second = push_crm()
    with transaction(engine) as session:
        session.execute(update(Referral).values(status="voided"))
    third = push_crm()

    assert (first["queued"], first["leads"]["handed_over"], first["profiles"]["pushed"]) == (
        1,
        1,
        2,
    )
    assert (second["queued"], second["leads"]["claimed"], second["profiles"]["pushed"]) == (
        0,
        0,
        0,
    )
    assert third["profiles"]["pushed"] == 2
    leads = (folder / "leads.jsonl").read_text().splitlines()
    contacts = [json.loads(line) for line in (folder / "contacts.jsonl").read_text().splitlines()]
    assert len(leads) == 1
    assert [c["id"] for c in contacts] == ["ADV", "NEW1", "ADV", "NEW1"]
    assert contacts[1]["properties"]["referred_by"] == "ADV"
