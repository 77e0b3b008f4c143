"""Milestones: "refer 3, get a month free". Each is paid once per advocate, whenever the
count of successful referrals first reaches it, even if several are passed at once."""

from __future__ import annotations

from collections.abc import Iterable

from referral.programs import Milestone, ProgramConfig


def reached(config: ProgramConfig, successful_referrals: int) -> list[Milestone]:
    """Every milestone at or below the count, lowest first."""
    return [m for m in config.milestones if m.referrals <= successful_referrals]


def unpaid(
    config: ProgramConfig, successful_referrals: int, paid: Iterable[int]
) -> list[Milestone]:
    done = set(paid)
    return [m for m in reached(config, successful_referrals) if m.referrals not in done]


def tier_for(config: ProgramConfig, successful_referrals: int) -> str | None:
    """The highest tier upgrade earned so far; tiers never go down."""
    tiers = [m.tier_upgrade for m in reached(config, successful_referrals) if m.tier_upgrade]
    return tiers[-1] if tiers else None


def milestone_key(program_id: int, customer_id: int, referrals: int) -> str:
    return f"milestone:{program_id}:{customer_id}:{referrals}"
