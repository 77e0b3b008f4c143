"""Remind advocates who have not shared their link since they were invited."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.invitations import send_reminders_batch


@flow(name="reminders", log_prints=True)
def reminders(program: str, batch_size: int | None = None) -> dict[str, Any]:
    settings, url = settings_and_url()
    size = batch_size or settings.batch_size
    totals = {"candidates": 0, "invited": 0, "unreachable": 0}
    skipped = None
    cursor = 0
    while True:
        batch = send_reminders_batch(url, program, cursor, size, settings.web.public_base_url)
        for name in totals:
            totals[name] += batch[name]
        skipped = batch["skipped"]
        if batch["cursor"] is None:
            break
        cursor = batch["cursor"]
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
