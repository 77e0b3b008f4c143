"""A real uvicorn server on loopback, one per database kind per module; the database is
emptied before each test. Flow starts are recorded instead of sent to Prefect: what the web
service promises is the inbox row and the notification, and tests/flows runs the flow."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from config.settings import Settings, load_settings
from tests.conftest import _empty
from web.app import create_app

API_KEY = "test-key-0123456789"
OTHER_KEY = "rotated-key-9876543210"
PEPPER = "web-test-pepper"
FALLBACK = "https://shop.example/"
PUBLIC = "https://refer.shop.example"
STANDARD_SECRETS = (
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=",
)
STRIPE_SECRETS = ("whsec_stripe_old", "whsec_stripe_new")
HUBSPOT_SECRET = "hubspot-client-secret"
TWILIO_TOKEN = "twilio-auth-token"
SALESFORCE_ORG = "00D000000000062EAA"
# SendGrid signs its event webhook with ECDSA P-256; the tests hold the private half.
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
POSTMARK_AUTH = ("postmark-hook", "postmark-secret")


@dataclass
class RecordingTrigger:
    notified: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, inbox_id: int) -> None:
        with self.lock:
            self.notified.append(inbox_id)

    def close(self) -> None:
        pass


@dataclass
class Running:
    base_url: str
    engine: Engine
    settings: Settings
    trigger: RecordingTrigger
    app: Any

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10, **options)

    def api(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {API_KEY}"})


def web_settings(database_url: str, **overrides: Any) -> Settings:
    return load_settings(
        database_url=database_url,
        api_keys=[API_KEY, OTHER_KEY],
        hash_pepper=PEPPER,
        web={"fallback_url": FALLBACK, "max_body_bytes": 64 * 1024, "public_base_url": PUBLIC},
        webhooks={
            "standard_secrets": list(STANDARD_SECRETS),
            "stripe_secrets": list(STRIPE_SECRETS),
            "hubspot_client_secret": [HUBSPOT_SECRET],
            "twilio_auth_token": TWILIO_TOKEN,
            "salesforce_org_ids": [SALESFORCE_ORG],
            "sendgrid_public_keys": [SENDGRID_PUBLIC],
            "postmark_username": POSTMARK_AUTH[0],
            "postmark_password": POSTMARK_AUTH[1],
        },
        **overrides,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: Any) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def _server(request: pytest.FixtureRequest) -> Iterator[Running]:
    engine: Engine = request.getfixturevalue(f"_{request.param}_engine")
    settings = web_settings(engine.url.render_as_string(hide_password=False))
    trigger = RecordingTrigger()
    app = create_app(settings, trigger=trigger)
    for base_url in serve(app):
        yield Running(base_url, engine, settings, trigger, app)


@pytest.fixture
def web(_server: Running) -> Running:
    _empty(_server.engine)
    _server.trigger.notified.clear()
    _server.app.state.context.forget_cached()
    return _server
