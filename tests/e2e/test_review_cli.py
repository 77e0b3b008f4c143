"""`referral review` as a reviewer uses it: the queue, the evidence in plain words, and
decisions that are recorded with who and why, including an appeal."""

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from db.engine import make_engine, transaction
from db.models import Customer, FraudSignal, Program, ProgramVersion, Referral

BUNDLED = Path(__file__).resolve().parents[2] / "config" / "programs"


def _held_referral(database_url: str) -> int:
    """A referral the rules held: its referee signed up with a throwaway address."""
    engine = make_engine(database_url)
    with transaction(engine) as session:
        session.add_all(
            [
                Customer(source="crm", external_id="ADV-7", email="ada@example.com"),
                Customer(source="crm", external_id="NEW-9", email="x@mailinator.com"),
            ]
        )
        session.flush()
        ids = dict(session.execute(select(Customer.external_id, Customer.id)).tuples().all())
        program_id, version_id = session.execute(
            select(Program.id, ProgramVersion.id).join(
                ProgramVersion, ProgramVersion.program_id == Program.id
            )
        ).one()
        referral = Referral(
            program_id=program_id,
            program_version_id=version_id,
            referrer_id=ids["ADV-7"],
            referee_id=ids["NEW-9"],
            attribution_model="last_click",
            attributed_by="link",
            status="flagged",
            status_reason="DISPOSABLE_EMAIL_DOMAIN",
            referred_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
        )
        session.add(referral)
        session.flush()
        session.add(
            FraudSignal(
                referral_id=referral.id,
                rule="disposable_domain",
                severity="soft",
                score=50,
                reason_code="DISPOSABLE_EMAIL_DOMAIN",
                evidence={"domain": "mailinator.com"},
            )
        )
        referral_id = referral.id
    engine.dispose()
    return referral_id


def test_a_reviewer_sees_the_evidence_decides_and_an_appeal_reopens(cli):
    assert cli("db", "upgrade").code == 0
    assert cli("programs", "apply", str(BUNDLED / "friends.yaml")).code == 0
    referral_id = _held_referral(cli.database_url)

    (waiting,) = cli("review", "list", "--json").json()
    assert (waiting["referral_id"], waiting["referee"], waiting["score"]) == (
        referral_id,
        "NEW-9",
        50,
    )
    shown = cli("review", "show", str(referral_id), "--json").json()
    assert "mailinator.com" in shown["signals"][0]["explanation"]
    table = cli("review", "show", str(referral_id))
    assert table.code == 0 and "disposable_domain" in table.stdout

    approved = cli(
        "review", "approve", str(referral_id), "--reason", "known customer", "--by", "sam"
    )
    assert (approved.code, approved.stdout.strip()) == (
        0,
        f"referral {referral_id}: approved, now pending",
    )
    again = cli("review", "approve", str(referral_id), "--reason", "twice")
    assert again.code == 1
    assert again.stderr.strip() == (
        f"error: referral {referral_id} is pending; only flagged can be approved"
    )
    assert cli("review", "list", "--json").json() == []
    assert cli("review", "reopen", str(referral_id), "--reason", "chargeback came in").code == 0
    assert cli("review", "reject", str(referral_id), "--reason", "card was stolen").code == 0

    decisions = cli("review", "show", str(referral_id), "--json").json()["decisions"]
    assert [(d["decision"], d["reason"]) for d in decisions] == [
        ("approve", "known customer"),
        ("reopen", "chargeback came in"),
        ("reject", "card was stolen"),
    ]
    assert decisions[0]["decided_by"] == "sam"


def test_review_mistakes_are_one_line_errors(cli):
    assert cli("db", "upgrade").code == 0
    assert cli("review", "list").stdout.strip() == "nothing waiting for review"
    missing = cli("review", "show", "404")
    assert (missing.code, missing.stderr.strip()) == (1, "error: no referral with id 404")
    no_reason = cli("review", "reject", "404", "--reason", "  ")
    assert (no_reason.code, no_reason.stderr.strip()) == (1, "error: --reason must say why")
