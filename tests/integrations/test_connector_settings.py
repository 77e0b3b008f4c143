"""The connectors the settings name, and a one-line error naming the variable when a chosen
provider lacks its credentials."""

from __future__ import annotations

import pytest

from config.settings import CrmSettings, SettingsError, load_settings
from integrations.crm.files import FileCrm
from integrations.crm.hubspot import HubSpotConnector
from integrations.crm.salesforce import SalesforceConnector
from tasks.crm import open_connector


def test_the_drop_folder_needs_no_settings(tmp_path):
    assert isinstance(open_connector("files", folder=tmp_path, batch_size=10), FileCrm)


def test_hubspot_and_salesforce_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("REFERRAL_CRM__HUBSPOT_ACCESS_TOKEN", "pat-na1-secret")
    monkeypatch.setenv("REFERRAL_CRM__SALESFORCE_CLIENT_ID", "3MVG9")
    monkeypatch.setenv("REFERRAL_CRM__SALESFORCE_CLIENT_SECRET", "sf-secret")
    crm = load_settings().crm
    hubspot = open_connector("hubspot", folder=tmp_path, batch_size=10, crm=crm)
    salesforce = open_connector("salesforce", folder=tmp_path, batch_size=10, crm=crm)
    assert isinstance(hubspot, HubSpotConnector)
    assert isinstance(salesforce, SalesforceConnector)
    assert "sf-secret" not in repr(crm) and "pat-na1" not in repr(crm)


@pytest.mark.parametrize(
    ("source", "crm", "variable"),
    [
        ("hubspot", CrmSettings(), "REFERRAL_CRM__HUBSPOT_ACCESS_TOKEN"),
        ("salesforce", CrmSettings(), "REFERRAL_CRM__SALESFORCE_CLIENT_ID"),
        (
            "salesforce",
            CrmSettings(salesforce_auth="jwt", salesforce_client_id="x", salesforce_username="u"),
            "REFERRAL_CRM__SALESFORCE_PRIVATE_KEY",
        ),
    ],
)
def test_a_provider_without_credentials_names_the_variable(source, crm, variable, tmp_path):
    with pytest.raises(SettingsError, match=f"^{variable} is not set$"):
        open_connector(source, folder=tmp_path, batch_size=10, crm=crm)
