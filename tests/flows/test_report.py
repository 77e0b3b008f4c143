"""The report flow publishes each program's report as artifacts on a real Prefect API."""

import asyncio

from prefect.client.orchestration import get_client

from db.engine import transaction
from flows.report import report
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline


async def _artifacts():
    async with get_client() as client:
        return {a.key: a for a in await client.read_artifacts()}


def test_the_report_flow_publishes_each_program(engine, flow_env):
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        referred_purchase(session, code)
        run_pipeline(session)
    found = report(days=3650)
    (friends,) = found["programs"]
    assert friends["economics"]["acquired_customers"] == 1
    artifacts = asyncio.run(_artifacts())
    assert {"report-friends", "report-programs"} <= set(artifacts)
    assert "ADV" in artifacts["report-friends"].data
    # The friend came by the emailed link and bought: one row of the channel table.
    assert "| email | 0 | 1 | 1 | 1 |" in artifacts["report-friends"].data
