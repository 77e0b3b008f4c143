"""`referral report --html FILE` opens in headless Chromium, offline, with its charts drawn."""

from db.engine import make_engine, transaction
from tests.db.helpers import NOW, advocate_with_code, click, referred_purchase, run_pipeline
from tests.web.test_portal_browser import SCREENSHOTS, chromium


def _shop(database_url: str) -> None:
    """An advocate with three friends who bought, and a few more clicks."""
    engine = make_engine(database_url)
    with transaction(engine) as session:
        _, code = advocate_with_code(session)
        for friend in ("NEW1", "NEW2", "NEW3"):
            referred_purchase(session, code, referee=friend)
        for i in range(4):
            click(session, code, visitor=f"browse-{i}", at=NOW)
        run_pipeline(session)
    engine.dispose()


def test_the_html_report_renders_its_charts_offline(cli, tmp_path):
    assert cli("db", "upgrade").code == 0
    _shop(cli.database_url)
    page = tmp_path / "report.html"
    written = cli("report", "--since", "2026-01-01", "--html", str(page))
    assert (written.code, written.stdout.strip()) == (0, f"wrote {page}")
    html = page.read_text()
    assert "<script" not in html and "http" not in html.split("<body>", 1)[1].replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )  # nothing to fetch: it reads offline

    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    # funnel, weekly and monthly trend, channels, top referrers (a season needs a year)
    assert dom.count('class="chart"') == 5
    assert 'data-channel="email"' in dom
    assert 'class="bar"' in dom and 'class="line"' in dom
    assert 'data-program="friends"' in dom
    assert 'data-figure="acquired">3<' in dom

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"report-{cli.backend}.png"
    chromium(tmp_path, f"--screenshot={shot.resolve()}", "--window-size=1200,1600", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
