"""Schemathesis generates requests from the OpenAPI document, valid and not, and sends them
to the running server: whatever arrives, the answer is never a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.web.conftest import API_KEY


def test_no_generated_request_gets_a_server_error(web):
    schema = schemathesis.openapi.from_url(f"{web.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            case.call_and_validate(
                base_url=web.base_url,
                headers={"Authorization": f"Bearer {API_KEY}"},
                checks=[not_a_server_error],
                allow_redirects=False,
            )

        no_server_error()
