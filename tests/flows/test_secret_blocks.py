"""A credential kept in a Prefect Secret block reaches the flow's settings."""

import pytest
from prefect.blocks.system import Secret

from config.settings import SettingsError
from flows.common import settings_and_url


def test_a_flow_reads_a_credential_from_its_secret_block(flow_env, monkeypatch):
    Secret(value="pat-from-block").save("referral-hubspot-token", overwrite=True)
    monkeypatch.setenv(
        "REFERRAL_CRM__HUBSPOT_ACCESS_TOKEN", "prefect-secret:referral-hubspot-token"
    )
    settings, _ = settings_and_url()
    assert settings.crm.hubspot_access_token.get_secret_value() == "pat-from-block"


def test_a_block_that_does_not_exist_is_named(flow_env, monkeypatch):
    monkeypatch.setenv("REFERRAL_SMS__AUTH_TOKEN", "prefect-secret:no-such-block")
    with pytest.raises(SettingsError, match=r"REFERRAL_SMS__AUTH_TOKEN: .*'no-such-block'"):
        settings_and_url()
