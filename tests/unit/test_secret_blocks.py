"""Secret settings that name a Prefect Secret block are read from it; nothing else is."""

import pytest

from config.settings import Settings, SettingsError
from tasks.secrets import with_secret_blocks

BLOCKS = {"hubspot": "pat-na1-123", "slack-hook": "https://hooks.slack.com/services/T/B/x"}


def load(name: str) -> str:
    if name not in BLOCKS:
        raise LookupError(name)
    return BLOCKS[name]


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_a_secret_naming_a_block_gets_the_blocks_value():
    resolved = with_secret_blocks(
        settings(
            crm={"hubspot_access_token": "prefect-secret:hubspot"},
            slack={"webhook_url": "prefect-secret:slack-hook"},
        ),
        load,
    )
    assert resolved.crm.hubspot_access_token.get_secret_value() == "pat-na1-123"
    assert resolved.slack.webhook_url.get_secret_value() == BLOCKS["slack-hook"]


def test_plain_secrets_and_other_settings_are_left_alone():
    original = settings(crm={"hubspot_access_token": "pat-plain"})
    assert with_secret_blocks(original, load) is original


def test_a_missing_block_names_the_variable_and_the_block():
    with pytest.raises(SettingsError) as caught:
        with_secret_blocks(settings(email={"api_key": "prefect-secret:sendgrid"}), load)
    assert str(caught.value) == (
        "REFERRAL_EMAIL__API_KEY: no Prefect Secret block named 'sendgrid'"
    )
