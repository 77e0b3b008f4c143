"""`make bench-web`: the web service under load on PostgreSQL, beside bare uvicorn.

A load generator in its own process sends Standard-Webhooks-signed events for --seconds
against `referral web` (one worker, then two), then referral-link clicks; afterwards the
inbox must hold exactly the events that were acknowledged.

    ./bin/with-test-postgres .venv/bin/python -m bench.web --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text

from bench.loadgen import Result, request_bytes, run
from db.advocates import enroll_top, issue_missing_codes
from db.customers import upsert_customers
from db.engine import make_engine, transaction
from db.migrate import upgrade
from db.models import InboxEvent, ReferralCode
from db.programs import Programs
from referral.scoring import ScoreWeights

console = Console(width=150)
SECRET = "whsec_" + base64.b64encode(b"bench-standard-webhooks-secret!!").decode()
API_KEY = "bench-api-key"
HOST = "127.0.0.1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    url = os.environ["REFERRAL_TEST_POSTGRES_URL"]
    engine = make_engine(url)
    upgrade(engine)
    codes = _set_up_codes(engine)
    rows: list[tuple[str, Result, str]] = []

    with _server(["-m", "uvicorn", "bench.hello:app"], {}) as port:
        hello = _load(port, "hello", args.connections, min(args.seconds, 15), [])
        rows.append(("bare uvicorn hello world, 1 worker", hello, ""))

    for workers in [int(w) for w in args.workers.split(",")]:
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE inbox"))
        env = {
            "REFERRAL_DATABASE_URL": url,
            "REFERRAL_API_KEYS": API_KEY,
            "REFERRAL_WEBHOOKS__STANDARD_SECRETS": SECRET,
            "REFERRAL_DATABASE__POOL_SIZE": "20",
        }
        command = ["-m", "cli.main", "web", "--workers", str(workers)]
        with _server(command, env) as port:
            events = _load(port, "events", args.connections, args.seconds, [])
            clicks = _load(port, "clicks", args.connections, min(args.seconds, 30), codes)
        with transaction(engine) as session:
            stored = session.scalar(select(func.count()).select_from(InboxEvent)) or 0
        acknowledged = events.by_status.get(202, 0)
        check = "inbox == acknowledged" if stored == acknowledged else "MISMATCH"
        rows.append(
            (
                f"signed events, {workers} worker(s)",
                events,
                f"{stored:,} stored, {acknowledged:,} acknowledged: {check}",
            )
        )
        rows.append((f"/r/{{code}} redirects, {workers} worker(s)", clicks, ""))

    table = Table(title="web service on PostgreSQL (load generator in its own process)")
    for column in ("load", "requests", "req/s", "2xx/3xx per s", "p50 ms", "p99 ms", "note"):
        table.add_column(column, justify="left" if column in ("load", "note") else "right")
    for name, result, note in rows:
        table.add_row(
            name,
            f"{result.count:,}",
            f"{result.rate():,.0f}",
            f"{result.rate([200, 202, 302]):,.0f}",
            f"{result.percentile(0.5):.1f}",
            f"{result.percentile(0.99):.1f}",
            note + (f" errors: {result.errors}" if result.errors else ""),
        )
    console.print(table)
    console.print(
        "targets: >= 2,000 accepted events/s with p99 <= 50 ms on one worker; >= 3,000 redirects/s"
    )


def _set_up_codes(engine) -> list[str]:
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE customers, programs, inbox RESTART IDENTITY CASCADE"))
    with transaction(engine) as session:
        upsert_customers(
            session,
            [{"source": "crm", "external_id": f"A{i}", "orders_count": 3} for i in range(1000)],
        )
        program = Programs(session).create(
            slug="bench",
            name="Bench",
            reward_structure="referrer_only",
            referrer_reward={"type": "credit", "amount": "5"},
        )
        enroll_top(session, program.id, ScoreWeights(), top=1000)
        issue_missing_codes(session, program.id, length=8)
        return list(session.scalars(select(ReferralCode.code)))


def _load(port: int, kind: str, connections: int, seconds: float, codes: list[str]) -> Result:
    """In a separate process, so the generator and the server do not share an interpreter."""
    with ProcessPoolExecutor(1) as pool:
        return pool.submit(_generate, port, kind, connections, seconds, codes).result()


def _generate(port: int, kind: str, connections: int, seconds: float, codes: list[str]) -> Result:
    host = f"{HOST}:{port}"
    if kind == "hello":
        requests: Iterator[bytes] = itertools.repeat(request_bytes("GET", host, "/", {}))
    elif kind == "clicks":
        requests = (
            request_bytes("GET", host, f"/r/{code}?ch=email", {"User-Agent": "bench"})
            for code in itertools.cycle(codes)
        )
    else:
        requests = _signed_events(host)
    return asyncio.run(run(HOST, port, requests, connections=connections, seconds=seconds))


def _signed_events(host: str) -> Iterator[bytes]:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    for n in itertools.count():
        event = {
            "id": f"bench-{n}",
            "type": "purchase",
            "occurred_at": datetime.now(UTC).isoformat(),
            "customer": {"external_id": f"R{n % 50_000}"},
            "order_id": f"O{n}",
            "amount": 2500,
            "currency": "USD",
        }
        body = json.dumps({"type": "purchase", "timestamp": event["occurred_at"], "data": event})
        msg_id, stamp = f"msg_{n}", str(int(time.time()))
        signed = f"{msg_id}.{stamp}.{body}".encode()
        signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
            "webhook-signature": f"v1,{signature}",
        }
        yield request_bytes("POST", host, "/webhooks/standard", headers, body.encode())


class _server:
    """A server subprocess on a free port, stopped on exit."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command, self.env = command, env

    def __enter__(self) -> int:
        with socket.socket() as s:
            s.bind((HOST, 0))
            self.port = int(s.getsockname()[1])
        args = [sys.executable, *self.command, "--port", str(self.port)]
        if "uvicorn" in self.command:
            args += ["--host", HOST, "--log-level", "warning", "--no-access-log"]
        self.process = subprocess.Popen(
            args, env={**os.environ, **self.env}, cwd=Path(__file__).parent.parent
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://{HOST}:{self.port}/healthz", timeout=1)
                return self.port
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"server {self.command} did not start")

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


if __name__ == "__main__":
    main()
