"""The CRM write-back: each contact's referral state reaches the CRM once per change, and
each referred lead reaches its owner once, whatever the CRM answers."""

import json

import httpx
import pytest
from sqlalchemy import select, update

from config.settings import CrmSettings, SettingsError
from db.crm_writeback import fresh_leads, involved_contacts, profiles
from db.engine import transaction
from db.models import Customer, OutboxMessage, Referral
from integrations.crm.http import (
    CrmAmbiguousError,
    CrmAuthError,
    CrmPermanentError,
    CrmTransientError,
)
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.outgoing import FileCrmWriter
from referral.crm_profile import ReferralProfile
from tasks.crm_writeback import (
    hand_over_leads_batch,
    push_profiles_batch,
    queue_referred_leads,
    target_of,
)
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline

FILES = target_of(CrmSettings())


def _rewarded_referral(engine):
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        referred_purchase(session, code)
        run_pipeline(session)
    return code


def _profiles(engine):
    with transaction(engine) as session:
        return {
            p.contact_id: p for p in profiles(session, involved_contacts(session, "crm", 0, 100))
        }


def test_the_profile_says_who_referred_whom_and_what_they_hold(engine):
    code = _rewarded_referral(engine)
    found = _profiles(engine)
    assert found["ADV"] == ReferralProfile(
        customer_id=found["ADV"].customer_id,
        contact_id="ADV",
        referral_code=code,
        successful_referrals=1,
        reward_balance_minor=1000,  # the $10.00 credit
        reward_currency="USD",
    )
    assert found["NEW1"].referral_status == "rewarded"
    assert found["NEW1"].referred_by == "ADV"
    assert found["NEW1"].reward_balance_minor == 0  # a discount coupon is no balance


def test_contacts_of_another_crm_are_not_written_to(engine):
    _rewarded_referral(engine)
    with transaction(engine) as session:
        assert involved_contacts(session, "hubspot", 0, 100) == []


def test_a_second_push_sends_only_what_changed(engine, database_url, tmp_path):
    _rewarded_referral(engine)
    writer = FileCrmWriter(tmp_path)
    first = push_profiles_batch.fn(database_url, writer, FILES, after=0, batch_size=100)
    again = push_profiles_batch.fn(database_url, writer, FILES, after=0, batch_size=100)
    with transaction(engine) as session:
        session.execute(update(Referral).values(status="voided"))
    changed = push_profiles_batch.fn(database_url, writer, FILES, after=0, batch_size=100)
    assert (first["pushed"], again["pushed"], changed["pushed"]) == (2, 0, 2)
    lines = [json.loads(line) for line in (tmp_path / "contacts.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["ADV", "NEW1", "ADV", "NEW1"]
    assert lines[-1]["properties"]["referral_status"] == "voided"
    assert lines[-2]["properties"]["successful_referrals"] == 0


def test_batches_walk_the_contacts_by_id(engine, database_url, tmp_path):
    _rewarded_referral(engine)
    writer = FileCrmWriter(tmp_path)
    first = push_profiles_batch.fn(database_url, writer, FILES, after=0, batch_size=1)
    rest = push_profiles_batch.fn(database_url, writer, FILES, after=first["cursor"], batch_size=1)
    last = push_profiles_batch.fn(database_url, writer, FILES, after=rest["cursor"], batch_size=1)
    assert (first["contacts"], rest["contacts"], last["contacts"]) == (1, 1, 0)
    assert last["cursor"] is None


def test_contacts_the_crm_refuses_are_pushed_again_next_time(engine, database_url):
    _rewarded_referral(engine)
    refused = {"101"}
    calls = []

    def hubspot(request: httpx.Request) -> httpx.Response:
        inputs = json.loads(request.content)["inputs"]
        calls.append(sorted(i["id"] for i in inputs))
        ok = [{"id": i["id"], "properties": {}} for i in inputs if i["id"] not in refused]
        errors = [
            {"status": "error", "category": "VALIDATION_ERROR", "context": {"ids": [i["id"]]}}
            for i in inputs
            if i["id"] in refused
        ]
        status = 207 if errors else 200
        return httpx.Response(status, json={"status": "COMPLETE", "results": ok, "errors": errors})

    client = httpx.Client(transport=httpx.MockTransport(hubspot))
    target = target_of(CrmSettings(provider="hubspot"))
    _retarget_contacts(engine, "hubspot", {"ADV": "101", "NEW1": "102"})
    with HubSpotConnector("token", client=client) as crm:
        first = push_profiles_batch.fn(database_url, crm, target, after=0, batch_size=100)
        refused.clear()
        second = push_profiles_batch.fn(database_url, crm, target, after=0, batch_size=100)
    assert (first["pushed"], first["refused"]) == (1, 1)
    assert calls == [["101", "102"], ["101"]]
    assert second["pushed"] == 1


def test_an_unknown_writeback_property_is_named():
    with pytest.raises(SettingsError, match=r"REFERRAL_CRM__WRITEBACK_PROPERTIES: .*balanse"):
        target_of(CrmSettings(writeback_properties={"reward_balanse": "x"}))


def test_an_empty_property_name_leaves_it_out():
    target = target_of(CrmSettings(provider="hubspot", writeback_properties={"referral_code": ""}))
    assert target.property_names["referral_code"] == ""
    assert target.property_names["referral_status"] == "referral_status"


# --- referred leads ---------------------------------------------------------------------


def test_a_referred_sign_up_is_handed_to_sales_once(engine, database_url, tmp_path):
    _rewarded_referral(engine)
    writer = FileCrmWriter(tmp_path)
    queued = [queue_referred_leads.fn(database_url, FILES, max_age_days=7, batch_size=10)]
    handed = hand_over_leads_batch.fn(database_url, writer, FILES, worker="t", batch_size=10)
    queued.append(queue_referred_leads.fn(database_url, FILES, max_age_days=7, batch_size=10))
    again = hand_over_leads_batch.fn(database_url, writer, FILES, worker="t", batch_size=10)
    assert queued == [1, 0]
    assert (handed["handed_over"], again["claimed"]) == (1, 0)
    (lead,) = [json.loads(line) for line in (tmp_path / "leads.jsonl").read_text().splitlines()]
    assert (lead["contact_id"], lead["referrer_contact_id"], lead["program"]) == (
        "NEW1",
        "ADV",
        "friends",
    )


def test_flagged_and_old_sign_ups_are_no_leads(engine):
    _rewarded_referral(engine)
    with transaction(engine) as session:
        session.execute(update(Referral).values(status="flagged"))
        flagged = fresh_leads(session, target="files", source="crm", max_age_days=7, limit=10)
        session.execute(update(Referral).values(status="pending"))
        pending = fresh_leads(session, target="files", source="crm", max_age_days=7, limit=10)
    assert (flagged, len(pending)) == ([], 1)


def test_a_real_crm_takes_leads_only_with_an_owner(engine, database_url):
    _rewarded_referral(engine)
    no_owner = target_of(CrmSettings(provider="hubspot"))
    assert queue_referred_leads.fn(database_url, no_owner, max_age_days=7, batch_size=10) == 0


def _salesforce_lead_rows(engine):
    with transaction(engine) as session:
        return session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts).where(
                OutboxMessage.kind == "crm_lead"
            )
        ).all()


class _Crm:
    """A CrmWriter whose answer to the lead is chosen by the test."""

    def __init__(self, error: Exception | None) -> None:
        self.error, self.leads = error, []

    def referred_lead(self, lead):
        self.leads.append(lead)
        if self.error:
            raise self.error
        return "00T000000000001AAA"

    def update_contacts(self, updates):  # pragma: no cover - not used here
        raise AssertionError

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "status", "attempts"),
    [
        (None, "sent", 1),
        ("ambiguous", "needs_reconciliation", 1),
        ("permanent", "dead", 1),
        ("transient", "failed", 0),  # handed back: the attempt is not counted
    ],
)
def test_what_the_crm_answers_decides_the_lead_rows_state(
    engine, database_url, error, status, attempts
):
    errors = {
        None: None,
        "ambiguous": CrmAmbiguousError("salesforce task create: timed out"),
        "permanent": CrmPermanentError("salesforce task create: INVALID_CROSS_REFERENCE_KEY"),
        "transient": CrmTransientError("salesforce: 503", status=503),
    }
    _rewarded_referral(engine)
    target = target_of(CrmSettings(provider="salesforce", lead_owner_id="005000000000001"))
    _retarget_contacts(engine, "salesforce")
    assert queue_referred_leads.fn(database_url, target, max_age_days=7, batch_size=10) == 1
    crm = _Crm(errors[error])
    hand_over_leads_batch.fn(database_url, crm, target, worker="t", batch_size=10)
    assert _salesforce_lead_rows(engine) == [(status, attempts)]
    assert crm.leads[0].owner_id == "005000000000001"


def test_refused_credentials_hand_the_leads_back_and_fail_the_run(engine, database_url):
    _rewarded_referral(engine)
    target = target_of(CrmSettings(provider="salesforce", lead_owner_id="005000000000001"))
    _retarget_contacts(engine, "salesforce")
    queue_referred_leads.fn(database_url, target, max_age_days=7, batch_size=10)
    with pytest.raises(CrmAuthError):
        hand_over_leads_batch.fn(
            database_url,
            _Crm(CrmAuthError("salesforce: 401", status=401)),
            target,
            worker="t",
            batch_size=10,
        )
    assert _salesforce_lead_rows(engine) == [("failed", 0)]


def _retarget_contacts(engine, source, ids=None):
    """Make the customers another CRM's contacts (HubSpot's ids are digits)."""
    with transaction(engine) as session:
        session.execute(update(Customer).values(source=source))
        for old, new in (ids or {}).items():
            session.execute(
                update(Customer).where(Customer.external_id == old).values(external_id=new)
            )
