"""`referral web` as a user starts it: a process serving the API; `referral inbox list`
shows what arrived; `referral run process-inbox` records it."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import httpx

from tests.e2e.conftest import REFERRAL

KEY = "e2e-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_receive_list_and_process(cli):
    assert cli("db", "upgrade").code == 0
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFERRAL_", "PREFECT_API"))}
    env |= {
        "REFERRAL_DATA_DIR": str(cli.tmp_path / "data"),
        "REFERRAL_API_KEYS": KEY,
        "PREFECT_HOME": str(cli.tmp_path / "prefect"),
    }
    if cli.backend == "postgresql":
        from tests.conftest import postgres_url

        env["REFERRAL_DATABASE_URL"] = postgres_url()
    server = subprocess.Popen(
        [REFERRAL, "web", "--port", str(port)],
        env=env,
        cwd=cli.tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("referral web did not become ready")
        event = {
            "id": "n-1",
            "type": "nps",
            "occurred_at": "2026-11-20T10:00:00Z",
            "customer": {"external_id": "C-1", "email": "ana@example.com"},
            "score": 10,
        }
        answer = httpx.post(
            f"{base}/v1/events", json=event, headers={"Authorization": f"Bearer {KEY}"}
        )
        assert answer.status_code == 202, answer.text
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "ana@example.com" not in output  # no personal data in the service's logs

    listed = cli("inbox", "list", "--json").json()
    assert [(r["source"], r["event_id"], r["status"]) for r in listed] == [
        ("api", "n-1", "received")
    ]
    ran = cli("run", "process-inbox", "--json")
    assert ran.code == 0, ran.stderr[-1500:]
    assert ran.json()["processed"] == 1
    assert ran.json()["triggers"] == ["nps_promoter"]
    assert cli("inbox", "list", "--status", "processed", "--json").json()[0]["flow_run_id"]
    bad = cli("inbox", "list", "--status", "nope")
    assert bad.code == 1 and bad.stderr.strip().startswith("error: --status must be one of")
