"""`referral report --html FILE`: the report as one self-contained page with its charts as
inline SVG, readable offline and printable."""

from __future__ import annotations

import calendar
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cli.charts import bars, intervals, lines
from referral.analytics.ratios import percent_text
from referral.money import format_money

_PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)


def render_html(found: dict[str, Any], made_at: datetime) -> str:
    charts: dict[str, dict[str, Any]] = {
        "funnel": {},
        "trend": {},
        "monthly": {},
        "seasonal": {},
        "channels": {},
        "referrers": {},
        "arms": {},
    }
    for p in found["programs"]:
        slug = p["program"]
        charts["funnel"][slug] = bars(
            [(s["name"].replace("_", " "), s["count"]) for s in p["funnel"]], title="Funnel"
        )
        charts["trend"][slug] = _trend(p["weekly"], "week")
        months = p["monthly"]
        charts["monthly"][slug] = _trend(months, "month")
        # A season needs a year of months to say anything.
        charts["seasonal"][slug] = (
            bars(
                [
                    (calendar.month_abbr[m["month"]], round(m["mean"] or 0))
                    for m in p["seasonal"]
                    if m["years"]
                ],
                title="Referrals per calendar month (mean over years)",
            )
            if len(months) >= 12
            else None
        )
        charts["channels"][slug] = bars(
            [(c["name"].replace("_", " "), c["funnel"]["signups"]) for c in p["by_channel"]],
            title="Referrals by channel",
        )
        trial = p["experiment"]
        if trial and trial["arms"]:
            charts["arms"][slug] = intervals(
                [
                    (
                        a["arm"],
                        a["conversion_rate"],
                        (a["conversion_interval"]["low"], a["conversion_interval"]["high"])
                        if a["conversion_interval"]
                        else None,
                    )
                    for a in trial["arms"]["arms"]
                ],
                title="Advocates with a successful referral, by arm (95% interval)",
            )
        charts["referrers"][slug] = bars(
            [(e["advocate"], e["referrals"]) for e in p["top_referrers"]], title="Top referrers"
        )
    return _PAGES.get_template("report.html").render(
        report=found,
        charts=charts,
        money=format_money,
        percent=percent_text,
        made_at=made_at.isoformat(timespec="minutes"),
    )


def _trend(rows: list[dict[str, Any]], period: str) -> Markup:
    return lines(
        [row[period] for row in rows],
        [
            ("referrals", [row["referrals"] for row in rows]),
            ("acquired", [row["acquired"] for row in rows]),
        ],
        title=f"Referrals and acquired customers by {period}",
    )
