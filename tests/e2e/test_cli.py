"""The `referral` command as people use it: help everywhere, one-line errors, real work."""

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import REFERRAL

BUNDLED = Path(__file__).resolve().parents[2] / "config" / "programs"

COMMANDS = [
    [],
    ["db"],
    ["db", "upgrade"],
    ["programs"],
    ["programs", "apply"],
    ["programs", "list"],
    ["codes"],
    ["codes", "issue"],
    ["seed"],
    ["demo"],
    ["review"],
    ["review", "show"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "referral")
def test_every_command_has_help(command):
    result = subprocess.run(
        [REFERRAL, *command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_a_bad_setting_is_one_line_naming_the_variable(cli):
    result = cli("programs", "list", extra_env={"REFERRAL_WEB__PORT": "eighty"})
    assert result.code == 1
    assert result.stderr.strip().splitlines() == [
        "error: REFERRAL_WEB__PORT: Input should be a valid integer, unable to parse string "
        "as an integer"
    ]


def test_commands_before_the_first_upgrade_say_what_to_do(cli):
    result = cli("programs", "list")
    assert result.code == 1
    assert result.stderr.strip() == (
        "error: the database schema is not current: run `referral db upgrade`"
    )


def test_a_broken_program_file_names_file_and_field_and_applies_nothing(cli):
    assert cli("db", "upgrade").code == 0
    broken = cli.tmp_path / "broken.yaml"
    broken.write_text(
        "slug: broken\nname: Broken\nreferrer_reward: {type: credit, amount: -5}\n"
        "referee_reward: {type: credit, amount: 5}\n"
    )
    result = cli("programs", "apply", str(BUNDLED / "friends.yaml"), str(broken))
    assert result.code == 1
    assert result.stderr.strip() == (
        f"error: {broken}: referrer_reward.amount: Input should be greater than 0"
    )
    assert cli("programs", "list", "--json").json() == []


def test_programs_seed_and_codes_end_to_end(cli):
    assert cli("db", "upgrade").code == 0
    applied = cli("programs", "apply", *map(str, sorted(BUNDLED.glob("*.yaml"))))
    assert applied.code == 0, applied.stderr
    assert "friends: created (version 1)" in applied.stdout
    again = cli("programs", "apply", str(BUNDLED / "friends.yaml"))
    assert "friends: unchanged (version 1)" in again.stdout
    programs = cli("programs", "list", "--json").json()
    assert [(p["slug"], p["version"]) for p in programs] == [("friends", 1), ("partners", 1)]

    seeded = cli("seed", "--customers", "300", "--seed", "3")
    assert seeded.code == 0, seeded.stderr
    assert "300 customers in the database" in seeded.stdout

    svg, png = cli.tmp_path / "qr.svg", cli.tmp_path / "qr.png"
    kit = cli(
        "codes",
        "issue",
        "--program",
        "friends",
        "--customer",
        "C0000007",
        "--json",
        "--qr-svg",
        str(svg),
        "--qr-png",
        str(png),
    )
    assert kit.code == 0, kit.stderr
    data = kit.json()
    assert data["link"].startswith(f"http://localhost:8000/r/{data['code']}?")
    assert set(data["share"]) == {"email", "sms", "whatsapp", "x", "facebook", "linkedin"}
    assert b"<svg" in svg.read_bytes() and png.read_bytes().startswith(b"\x89PNG")
    same = cli("codes", "issue", "--program", "friends", "--customer", "C0000007", "--json")
    assert same.json()["code"] == data["code"]

    unknown = cli("codes", "issue", "--program", "friends", "--customer", "NOPE")
    assert (unknown.code, unknown.stderr.strip()) == (
        1,
        "error: no customer 'NOPE' from source 'crm'",
    )
    bad_vanity = cli(
        "codes", "issue", "--program", "friends", "--customer", "C0000008", "--vanity", "a!"
    )
    assert bad_vanity.code == 1 and len(bad_vanity.stderr.strip().splitlines()) == 1


def test_run_a_flow_by_name_and_manage_rewards(cli):
    assert cli("db", "upgrade").code == 0
    assert cli("programs", "apply", str(BUNDLED / "friends.yaml")).code == 0
    result = cli("run", "process-conversions", "--param", "batch_size=500", "--json")
    assert result.code == 0, result.stderr[-1500:]
    assert result.json()["conversions"] == 0
    unknown = cli("run", "no-such-flow")
    assert unknown.code == 1 and unknown.stderr.startswith("error: no flow named 'no-such-flow'")
    bad = cli("run", "process-conversions", "--param", "colour=blue")
    assert bad.code == 1 and "takes batch_size" in bad.stderr
    assert cli("rewards", "list", "--json").json() == []
    missing = cli("rewards", "approve", "42", "--reason", "ok")
    assert (missing.code, missing.stderr.strip()) == (1, "error: no reward grant with id 42")
    wrong = cli("rewards", "list", "--status", "paid")
    assert wrong.code == 1 and "--status must be one of" in wrong.stderr


def test_outbox_list_and_retry(cli):
    assert cli("db", "upgrade").code == 0
    assert cli("outbox", "list", "--json").json() == []
    retried = cli("outbox", "retry", "41", "42")
    assert (retried.code, retried.stdout.strip()) == (0, "queued again: 0 of 2")
    wrong = cli("outbox", "list", "--status", "lost")
    assert wrong.code == 1 and wrong.stderr.strip().startswith("error: --status must be one of")


def test_flows_on_the_embedded_api_skip_heartbeats_and_keep_them_for_a_server():
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from cli.flows import flows_here

    with temporary_settings(restore_defaults={PREFECT_API_URL}), flows_here():
        assert get_current_settings().flows.heartbeat_frequency is None
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        served = get_current_settings().flows.heartbeat_frequency
        assert served is not None
        with flows_here():
            assert get_current_settings().flows.heartbeat_frequency == served
