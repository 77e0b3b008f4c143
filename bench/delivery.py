"""Delivery through the outbox relay on PostgreSQL, beside a bare send loop on the same
connector: to a local fake HTTP provider (SendGrid's API, a uvicorn app in its own process)
and to a local SMTP server (aiosmtpd) over one connection per batch.

    ./bin/with-test-postgres .venv/bin/python -m bench.delivery --messages 5000
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from db.customers import upsert_customers
from db.engine import make_engine, transaction
from db.migrate import upgrade
from db.outbox import enqueue
from integrations.mail.sendgrid import SendGridSender
from integrations.mail.smtp import SmtpSender
from integrations.senders import OutboundMessage
from integrations.templates import Renderer
from referral.unsubscribe import link_key
from tasks.outbox import Relay, relay_batch

console = Console(width=150)
PAYLOAD = {
    "program": "friends",
    "program_name": "Friends",
    "code": "K7PX9QM2",
    "link": "https://refer.example/r/K7PX9QM2",
    "share_message": "Use my link:",
    "trigger": "scheduled",
}


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Queued"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    engine = make_engine(os.environ["REFERRAL_TEST_POSTGRES_URL"])
    upgrade(engine)
    rows = []
    port = _free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.fake_provider:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=Path(__file__).parent.parent,
    )  # fmt: skip
    smtp_port = _free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        _wait(f"http://127.0.0.1:{port}/")
        api = SendGridSender(
            "SG.bench", "Shop <r@shop.example>", base_url=f"http://127.0.0.1:{port}"
        )
        mail = SmtpSender("127.0.0.1", smtp_port, from_address="r@shop.example", security="none")
        for name, sender in (("fake HTTP provider (SendGrid API)", api), ("local SMTP", mail)):
            bare = _bare_loop(sender, args.messages)
            relay = _through_relay(engine, sender, args.messages, args.batch_size)
            rows.append((name, bare, relay))
            mail.close()
    finally:
        smtp.stop()
        fake.terminate()
        fake.wait(timeout=10)
    table = Table(title=f"deliver-outbox on PostgreSQL, {args.messages:,} messages each")
    for column in ("provider", "bare send loop msg/s", "outbox relay msg/s", "relay / bare"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    for name, bare, relay in rows:
        table.add_row(name, f"{bare:,.0f}", f"{relay:,.0f}", f"{relay / bare:.2f}")
    console.print(table)
    console.print("targets: >= 1,000 msg/s to the HTTP provider, >= 300 msg/s to SMTP")


def _bare_loop(sender, count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        sender.send(
            OutboundMessage(
                f"bare-{i}",
                "email",
                f"c{i}@example.com",
                "Hello",
                "Text",
                "<p>Html</p>",
                {
                    "List-Unsubscribe": "<https://x/u/t>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
        )
    return count / (time.perf_counter() - started)


def _through_relay(engine, sender, count: int, batch_size: int) -> float:
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE customers, outbox RESTART IDENTITY CASCADE"))
    with transaction(engine) as session:
        upsert_customers(
            session,
            [
                {
                    "source": "crm",
                    "external_id": f"C{i}",
                    "email": f"c{i}@example.com",
                    "email_normalized": f"c{i}@example.com",
                    "consent_email": True,
                }
                for i in range(count)
            ],
        )
        ids = [row[0] for row in session.execute(text("SELECT id FROM customers ORDER BY id"))]
        enqueue(
            session,
            [
                {
                    "idempotency_key": f"m{i}",
                    "kind": "notification",
                    "channel": "email",
                    "customer_id": customer_id,
                    "template": "invitation",
                    "payload": PAYLOAD,
                }
                for i, customer_id in enumerate(ids)
            ],
        )
    relay = Relay(
        sender=sender,
        renderer=Renderer(),
        public_base_url="https://refer.example",
        unsubscribe_key=link_key(b"bench"),
        worker="bench",
    )
    sent = 0
    started = time.perf_counter()
    while sent < count:
        batch = relay_batch(engine, relay, batch_size)
        if not batch["claimed"]:
            break
        sent += batch["sent"]
    seconds = time.perf_counter() - started
    if sent != count:
        raise SystemExit(f"only {sent} of {count} messages were sent")
    return sent / seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the fake provider did not start")


if __name__ == "__main__":
    main()
