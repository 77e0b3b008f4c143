"""Find the customers most likely to refer and enrol them with a personal code each."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.advocates import identify_by_program, issue_codes_batch


@flow(name="identify-advocates", log_prints=True)
def identify_advocates(
    program: str, top: int | None = None, min_score: int | None = None
) -> dict[str, Any]:
    settings, url = settings_and_url()
    enrolment = identify_by_program(url, program, top=top, min_score=min_score)
    codes = 0
    while issued := issue_codes_batch(url, program, settings.batch_size):
        codes += issued
    summary = {**enrolment, "codes_issued": codes}
    publish_table(
        "identify-advocates",
        [{"measure": k, "value": v} for k, v in summary.items()],
        f"Advocates enrolled in {program}",
    )
    return summary
