"""One Prefect API for all flow tests: starting it costs seconds, so it is session-scoped."""

import pytest
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_api():
    # No heartbeats, as `referral run` and the demo on the embedded API: a flow otherwise
    # waits up to a second at its end for the heartbeat thread, in every test.
    with (
        prefect_test_harness(server_startup_timeout=60),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


@pytest.fixture
def flow_env(monkeypatch, database_url, tmp_path):
    """Flows read their settings at the edge, like a deployment does."""
    monkeypatch.setenv("REFERRAL_DATABASE_URL", database_url)
    monkeypatch.setenv("REFERRAL_DATA_DIR", str(tmp_path))
    return database_url
