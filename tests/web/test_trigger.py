"""Starting the inbox flow is a best effort: with Prefect unreachable, notifying returns at
once and the failure is only logged, so the sender's 2xx never waits on Prefect."""

from __future__ import annotations

import logging
import time

from tests.web.conftest import free_port
from web.trigger import DeploymentTrigger


def test_an_unreachable_prefect_api_neither_blocks_nor_raises(monkeypatch, caplog):
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    trigger = DeploymentTrigger(debounce_seconds=0.01)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="referral.web.trigger"):
        for inbox_id in range(1, 50):
            trigger.notify(inbox_id)
        assert time.perf_counter() - started < 0.1
        deadline = time.monotonic() + 60
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
        trigger.close()
    assert "the scheduled sweep will process the inbox" in caplog.records[0].getMessage()
