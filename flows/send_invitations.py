"""Invite a program's advocates to share, on a schedule or after an event, a batch per task."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url, walk_batches
from referral.invitations import SCHEDULED, check_trigger
from tasks.alerts import alert_failure
from tasks.invitations import send_invitations_batch


@flow(name="send-invitations", log_prints=True, on_failure=[alert_failure])
def send_invitations(
    program: str, trigger: str = SCHEDULED, batch_size: int | None = None
) -> dict[str, Any]:
    check_trigger(trigger)
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals, last = walk_batches(
        lambda cursor: send_invitations_batch(
            url, program, trigger, cursor, size, settings.web.public_base_url
        ),
        ("candidates", "invited", "unreachable"),
    )
    skipped = last["skipped"]
    if skipped:
        print(f"send-invitations {program}: nobody invited, {skipped}")
    publish_table(
        "send-invitations",
        [{"measure": name, "value": value} for name, value in totals.items()],
        f"Invitations queued for {program} ({trigger}); unreachable: no channel with consent",
    )
    return {**totals, "skipped": skipped}
