"""Remind advocates who have not shared their link since they were invited."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url, walk_batches
from tasks.alerts import alert_failure
from tasks.invitations import send_reminders_batch


@flow(name="reminders", log_prints=True, on_failure=[alert_failure])
def reminders(program: str, batch_size: int | None = None) -> dict[str, Any]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals, last = walk_batches(
        lambda cursor: send_reminders_batch(
            url, program, cursor, size, settings.web.public_base_url
        ),
        ("candidates", "invited", "unreachable"),
    )
    skipped = last["skipped"]
    if skipped:
        print(f"reminders {program}: none sent, {skipped}")
    publish_table(
        "reminders",
        [{"measure": "reminded" if n == "invited" else n, "value": v} for n, v in totals.items()],
        f"Reminders queued for {program}; unreachable: opted out or no consent on the channel",
    )
    return {
        "candidates": totals["candidates"],
        "reminded": totals["invited"],
        "unreachable": totals["unreachable"],
        "skipped": skipped,
    }
