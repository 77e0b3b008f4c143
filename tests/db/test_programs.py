"""Programs are versioned: a change makes a new version, the same file changes nothing."""

import pytest

from db.programs import ApplyOutcome, ProgramExists, Programs
from referral.programs import parse_program

FRIENDS = {
    "slug": "friends",
    "name": "Friends",
    "referrer_reward": {"type": "credit", "amount": "10.00"},
    "referee_reward": {"type": "discount", "amount": 15, "unit": "percent"},
}


def test_create_then_get(session):
    created = Programs(session).create(**FRIENDS)
    loaded = Programs(session).get("friends")
    assert (loaded.id, loaded.version) == (created.id, 1)
    assert loaded.config.referrer_reward.value_minor("USD") == 1000


def test_create_derives_the_slug_from_the_name(session):
    program = Programs(session).create(
        name="Summer Friends 2026",
        referrer_reward={"type": "points", "amount": 500},
        reward_structure="referrer_only",
    )
    assert program.slug == "summer-friends-2026"


def test_create_refuses_an_existing_slug(session):
    Programs(session).create(**FRIENDS)
    with pytest.raises(ProgramExists):
        Programs(session).create(**FRIENDS)


def test_applying_the_same_rules_twice_makes_no_new_version(session):
    programs = Programs(session)
    first = programs.apply(parse_program(FRIENDS))
    second = programs.apply(parse_program(FRIENDS))
    assert (first.outcome, second.outcome) == (ApplyOutcome.CREATED, ApplyOutcome.UNCHANGED)
    assert second.program.version == 1


def test_a_change_makes_a_new_version_and_old_versions_stay_readable(session):
    programs = Programs(session)
    v1 = programs.apply(parse_program(FRIENDS)).program
    changed = {**FRIENDS, "referrer_reward": {"type": "credit", "amount": "20.00"}}
    v2 = programs.apply(parse_program(changed))
    assert (v2.outcome, v2.program.version) == (ApplyOutcome.UPDATED, 2)
    old = programs.by_version_id(v1.version_id)
    assert old.config.referrer_reward.value_minor("USD") == 1000
    assert programs.get("friends").config.referrer_reward.value_minor("USD") == 2000
    assert [p.version for p in programs.list()] == [2]
