"""The referral report on a schedule: each program's funnel, money, leaderboard, channels,
campaigns and fraud figures as Prefect artifacts, so marketing ops read them in the UI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow

from db.engine import database_now
from flows.common import publish_markdown, publish_table, settings_and_url
from referral.analytics.ratios import percent_text
from tasks.alerts import alert_failure
from tasks.report import build_report


@flow(name="report", log_prints=True, on_failure=[alert_failure])
def report(days: int = 30, top: int = 10) -> dict[str, Any]:
    """The last `days` days (by the database clock), `top` advocates on the leaderboard."""
    _settings, url = settings_and_url()
    since = database_now(url) - timedelta(days=days)
    found = build_report(url, since, top=top)
    for section in found["programs"]:
        publish_markdown(
            f"report-{section['program']}",
            _markdown(section),
            f"Referral report for {section['program']}, last {days} days",
        )
    publish_table(
        "report-programs",
        [
            {
                "program": s["program"],
                "referrals": s["funnel"][4]["count"],
                "acquired": s["economics"]["acquired_customers"],
                "revenue": s["economics"]["revenue_minor"],
                "cost": s["economics"]["cost_minor"],
                "roi": s["economics"]["roi"],
                "currency": s["currency"],
            }
            for s in found["programs"]
        ],
        f"Programs over the last {days} days (money in minor units)",
    )
    print(f"report: {len(found['programs'])} programs since {since:%Y-%m-%d}")
    return found


def _markdown(section: dict[str, Any]) -> str:
    money = section["economics"]
    lines = [
        f"# {section['program']} since {section['since'][:10]}",
        "",
        "| step | count | of previous | of first |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {s['name'].replace('_', ' ')} | {s['count']:,} | {percent_text(s['rate'])} "
            f"| {percent_text(s['rate_from_start'])} |"
            for s in section["funnel"]
        ),
        "",
        f"Biggest drop-off: {(section['biggest_drop_off'] or 'none').replace('_', ' ')}.",
        "",
        f"Revenue {money['revenue_minor']:,}, reward cost {money['cost_minor']:,} "
        f"({section['currency']} minor units), ROI {percent_text(money['roi'])}, "
        f"{money['acquired_customers']:,} customers acquired.",
        "",
        "| # | advocate | successful referrals |",
        "| ---: | --- | ---: |",
        *(
            f"| {e['position']} | {e['advocate']} | {e['referrals']} |"
            for e in section["top_referrers"]
        ),
        *_segments("channel", section["by_channel"]),
        *_segments("campaign", section["by_campaign"]),
        "",
        f"Fraud: {section['fraud']['flagged']:,} held for review, "
        f"{section['fraud']['rejected']:,} rejected.",
    ]
    return "\n".join(lines)


def _segments(label: str, rows: list[dict[str, Any]]) -> list[str]:
    """A channel or campaign table: its funnel's last steps and its money."""
    if not rows:
        return []
    return [
        "",
        f"| {label} | invited | link clicks | sign-ups | purchases | revenue | cost | ROI |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['name'].replace('_', ' ')} | {r['funnel']['invitations_sent']:,} "
            f"| {r['funnel']['link_clicks']:,} | {r['funnel']['signups']:,} "
            f"| {r['funnel']['purchases']:,} | {r['revenue_minor']:,} | {r['cost_minor']:,} "
            f"| {percent_text(r['roi'])} |"
            for r in rows
        ),
    ]
