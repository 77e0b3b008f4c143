"""The dashboard in headless Chromium (Debian's package, which `make test` installs), on a
phone-sized screen: the numbers are on the rendered page, and a screenshot is kept."""

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import transaction
from db.models import Customer
from referral.portal import portal_token
from tests.db.helpers import advocate_with_code, referred_purchase, run_pipeline

SCREENSHOTS = Path(os.environ.get("REFERRAL_SCREENSHOTS", "test-artifacts"))
# What this machine's closed network needs: no background calls home, no sandbox as root.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=390,844",  # a phone
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium", False)
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


def test_the_dashboard_renders_on_a_phone_with_the_advocates_numbers(web, tmp_path):
    with transaction(web.engine) as session:
        _, code = advocate_with_code(session)
        referred_purchase(session, code, referee="NEW1")
        run_pipeline(session)
        customer_id = session.scalar(select(Customer.id).where(Customer.external_id == "ADV"))
    token = portal_token(
        customer_id, datetime.now(UTC) + timedelta(days=1), web.settings.portal_key
    )
    url = f"{web.base_url}/portal/{token}"

    dom = chromium(tmp_path, "--dump-dom", url).stdout
    assert 'data-stat="successful">1<' in dom
    assert code in dom and 'data-share="whatsapp"' in dom

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"portal-{web.engine.dialect.name}.png"
    chromium(tmp_path, f"--screenshot={shot.resolve()}", url)
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(header[16:20], "big")
    assert width == 390  # the page was laid out for the phone-sized window
