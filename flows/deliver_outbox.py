"""Send what is waiting in the outbox: claim a batch, check consent, render, send, record."""

from __future__ import annotations

import os
import socket
import uuid

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.alerts import alert_failure
from tasks.outbox import OUTCOMES, deliver_outbox_batch


def relay_name() -> str:
    """Who holds a claim, for people reading the outbox table: host, process and run."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@flow(name="deliver-outbox", log_prints=True, on_failure=[alert_failure])
def deliver_outbox(batch_size: int | None = None, max_batches: int | None = None) -> dict[str, int]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    key = settings.unsubscribe_key
    worker = relay_name()
    totals = dict.fromkeys(OUTCOMES, 0)
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = deliver_outbox_batch(
            url,
            size,
            outbox_dir=str(settings.data_dir / "outbox"),
            templates_dir=None,
            public_base_url=settings.web.public_base_url,
            unsubscribe_key=key,
            worker=worker,
            portal_key=settings.portal_key,
            portal_link_days=settings.web.portal_link_days,
            email=settings.email,
            sms=settings.sms,
            whatsapp=settings.whatsapp,
            delivery=settings.delivery,
        )
        batches += 1
        for name in totals:
            totals[name] += batch[name]
        # A short batch means the queue is drained for now; stopping there also keeps a
        # message whose retry delay came out near zero from being retried in this same run.
        if batch["claimed"] < size:
            break
    publish_table(
        "deliver-outbox",
        [{"outcome": name, "messages": totals[name]} for name in OUTCOMES],
        "Outbox messages delivered in this run: failed ones are retried later, dead ones "
        "are given up; suppressed and unreachable ones were never sent",
    )
    return totals
