"""Settings come from REFERRAL_* variables or .env; a bad value names its variable."""

import pytest

from config.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith("REFERRAL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_default_database_is_a_sqlite_file_in_the_data_directory(monkeypatch):
    monkeypatch.setenv("REFERRAL_DATA_DIR", "/srv/referral")
    assert load_settings().resolved_database_url == "sqlite:////srv/referral/referral.db"


def test_a_postgres_url_selects_psycopg(monkeypatch):
    monkeypatch.setenv("REFERRAL_DATABASE_URL", "postgresql://app@db:5432/referral")
    assert load_settings().resolved_database_url == "postgresql+psycopg://app@db:5432/referral"


def test_nested_groups_use_a_double_underscore(monkeypatch):
    monkeypatch.setenv("REFERRAL_WEB__PUBLIC_BASE_URL", "https://refer.example.com/")
    assert load_settings().web.public_base_url == "https://refer.example.com"


def test_a_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("REFERRAL_BATCH_SIZE=2500\n")
    assert load_settings().batch_size == 2500


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REFERRAL_WEB__PORT", "eighty", "REFERRAL_WEB__PORT: Input should be a valid integer"),
        ("REFERRAL_DATABASE_URL", "mysql://x", "REFERRAL_DATABASE_URL: must start with sqlite"),
        ("REFERRAL_BATCH_SIZE", "5", "REFERRAL_BATCH_SIZE: Input should be greater than or equal"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)


def test_secrets_do_not_show_in_repr(monkeypatch):
    monkeypatch.setenv("REFERRAL_HASH_PEPPER", "s3cret-pepper")
    settings = load_settings()
    assert "s3cret-pepper" not in repr(settings)
    assert settings.hash_pepper.get_secret_value() == "s3cret-pepper"
