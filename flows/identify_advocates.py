"""Find the customers most likely to refer and enrol them with a personal code each."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import publish_table, settings_and_url
from tasks.advocates import identify_by_program, issue_codes_batch
from tasks.alerts import alert_failure

MEASURES = {
    "scored": "customers scored",
    "eligible": "eligible (segment and threshold)",
    "enrolled": "enrolled now",
    "already_enrolled": "already enrolled",
    "codes_issued": "codes issued",
}


@flow(name="identify-advocates", log_prints=True, on_failure=[alert_failure])
def identify_advocates(
    program: str, top: int | None = None, min_score: int | None = None
) -> dict[str, Any]:
    """Enrol by the program's advocate selection; `top` and `min_score` override it for
    this run. Re-running enrols nobody twice and only issues the codes still missing."""
    settings, url = settings_and_url()
    size = settings.batch_size
    enrolment = identify_by_program(url, program, top=top, min_score=min_score)
    codes = 0
    # A batch of codes per task until none is missing; bounded, so a run that somehow makes
    # no progress cannot spin.
    for _ in range(-(-enrolment["codes_missing"] // size) + 1):
        issued = issue_codes_batch(url, program, size)
        if not issued:
            break
        codes += issued
    summary = {k: v for k, v in enrolment.items() if k != "codes_missing"}
    summary["codes_issued"] = codes
    publish_table(
        "identify-advocates",
        [{"measure": label, "value": summary[key]} for key, label in MEASURES.items()]
        + [
            {"measure": "limits", "value": _limits(summary["top"], summary["min_score"])},
        ],
        f"Advocates enrolled in {program}",
    )
    print(
        f"{program}: {summary['enrolled']} enrolled now, {summary['already_enrolled']} "
        f"already, {codes} codes issued"
    )
    return summary


def _limits(top: int | None, min_score: int | None) -> str:
    parts = [
        f"top {top}" if top is not None else "",
        f"score >= {min_score}" if min_score is not None else "",
    ]
    return ", ".join(p for p in parts if p) or "everyone in the segment"
