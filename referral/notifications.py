"""What each message template may use: its render context, built from an outbox payload.

An outbox row stores what was true when the message was queued (its payload); the relay adds
what belongs to the moment of sending: the first name from the customer's current record and
the unsubscribe URL. Payloads hold no names or addresses. Templates render with
StrictUndefined, so a key missing here fails the message instead of sending a blank.

The context of each template in config/templates/:

invitation, reminder (payloads built by `invitation_payload`)
    first_name      "Ada", or "there" when the CRM has no name ("Hi there")
    program_name    the program's display name
    code            the advocate's live referral code
    link            their referral link for the channel the message goes on
    share_message   the program's suggested text for sharing (messages.share_message)
    unsubscribe_url one-click unsubscribe link (RFC 8058)
    portal_url      a fresh, expiring link to the advocate's dashboard (None for referred
                    friends' reward notices, or when the relay makes none)
    reminder only:  reminder_number (1, 2, ...)

reward_earned (payload written by tasks/rewards.py)
    first_name, unsubscribe_url
    reward          e.g. "10.00 USD credit", "500 points" (`describe_reward`)
    description     the program's text for the reward, "" when none
    coupon_code     single-use code of a discount reward, None otherwise

milestone_reached (payload written by tasks/milestones.py)
    first_name, unsubscribe_url
    milestone       the milestone's name
    referrals       the number of successful referrals it takes
    tier            the tier it upgrades to, None when none
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from referral.links import referral_link
from referral.money import POINTS, format_money

TEMPLATES: Final = ("invitation", "reminder", "reward_earned", "milestone_reached")
SEND_TIME_KEYS: Final = ("first_name", "unsubscribe_url")


class ContextError(ValueError):
    """A payload lacks what its template needs; names the template and the key, no values."""


def first_name(name: str | None) -> str:
    parts = (name or "").split()
    return parts[0] if parts else "there"


def channel_link(base_url: str, code: str, channel: str) -> str:
    """The referral link to put in a message on `channel`.

    SMS gets the short form `/r/{code}?ch=sms`: every character counts against the 160 of
    one segment, and `ch` still attributes the click to the channel; the UTM parameters of
    the long form add about 40 characters.
    """
    if channel == "sms":
        return f"{base_url.rstrip('/')}/r/{quote(code, safe='')}?ch=sms"
    return referral_link(base_url, code, channel=channel)


def invitation_payload(
    *,
    program_slug: str,
    program_name: str,
    code: str,
    link: str,
    share_message: str,
    trigger: str,
    reminder_number: int | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "program": program_slug,
        "program_name": program_name,
        "code": code,
        "link": link,
        "share_message": share_message,
        "trigger": trigger,
    }
    if reminder_number is not None:
        payload["reminder_number"] = reminder_number
    return payload


def describe_reward(reward_type: str, amount_minor: int, currency: str) -> str:
    if reward_type == "points" or currency == POINTS:
        return f"{amount_minor:,} points"
    money = format_money(amount_minor, currency)
    return money if reward_type in ("cash", "product") else f"{money} {reward_type}"


def render_context(
    template: str,
    payload: Mapping[str, Any],
    *,
    name: str | None,
    unsubscribe_url: str,
    portal_url: str | None = None,
) -> dict[str, Any]:
    """The context `template` renders with, from a queued payload plus send-time facts.

    Templates not listed above get their payload as it is, so a new template needs no code
    here as long as its payload already holds what it shows.
    """
    # The dashboard is an advocate's: a referred friend's reward notice does not link it.
    advocate = template != "reward_earned" or payload.get("role") == "referrer"
    sent_now = {
        "first_name": first_name(name),
        "unsubscribe_url": unsubscribe_url,
        "portal_url": portal_url if advocate else None,
    }
    try:
        if template == "reward_earned":
            derived: dict[str, Any] = {
                "reward": describe_reward(
                    payload["reward_type"], int(payload["amount_minor"]), payload["currency"]
                ),
                "description": payload.get("description") or "",
                "coupon_code": payload.get("coupon_code"),
            }
        elif template == "milestone_reached":
            derived = {
                "milestone": payload["milestone"],
                "referrals": payload["referrals"],
                "tier": payload.get("tier"),
            }
        else:
            derived = dict(payload)
    except KeyError as missing:
        raise ContextError(f"{template}: payload has no {missing.args[0]!s}") from None
    return {**derived, **sent_now}
