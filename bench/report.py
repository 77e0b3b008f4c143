"""The full report over a large program on PostgreSQL: `make bench` runs it on the 1M
customers it loaded, after adding 100k referrals with their clicks, purchases, grants and
invitations in a few INSERT ... SELECT statements (untimed), then times `db.report.report`.

    python -m bench.report --referrals 100000    # on a database bench.run has loaded
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from db.engine import transaction
from db.programs import Programs
from db.report import report

STATUSES = (
    "ARRAY['pending','qualified','rewarded','rewarded','rewarded','flagged','rejected','voided']"
)


def measure(engine: Engine, program_slug: str, referrals: int) -> tuple[int, float]:
    """Adds `referrals` to the program (untimed); returns them and the report's seconds."""
    with transaction(engine) as session:
        loaded = Programs(session).get(program_slug)
    _populate(engine, loaded.id, loaded.version_id, referrals)
    started = time.perf_counter()
    with transaction(engine) as session:
        found = report(session, datetime.now(UTC) - timedelta(days=90), top=10)
    seconds = time.perf_counter() - started
    assert found["programs"], "the report covered no program"
    return referrals, seconds


def _populate(engine: Engine, program_id: int, version_id: int, referrals: int) -> None:
    params = {"p": program_id, "v": version_id, "n": referrals}
    statements = [
        # Referees: customers who are no advocates; referrers: advocates, round robin.
        f"""
        INSERT INTO referrals (program_id, program_version_id, referrer_id, referee_id,
            attribution_model, attributed_by, status, referred_at)
        SELECT :p, :v, a.customer_id, c.id, 'last_click', 'link',
            ({STATUSES})[1 + (c.id % 8)],
            statement_timestamp() - (c.id % 80) * interval '1 day'
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM customers
              WHERE id NOT IN (SELECT customer_id FROM advocates WHERE program_id = :p)
              ORDER BY id LIMIT :n) c
        JOIN (SELECT customer_id, row_number() OVER (ORDER BY id) - 1 AS rn FROM advocates
              WHERE program_id = :p) a
          ON a.rn = c.rn % (SELECT count(*) FROM advocates WHERE program_id = :p)
        """,
        # A purchase for every referral that got that far, a refund for some.
        """
        INSERT INTO conversions (source, external_id, kind, customer_id, order_id, amount_minor,
            currency, referral_id, occurred_at, processed_at)
        SELECT 'bench', 'po-' || r.id, 'purchase', r.referee_id, 'O-' || r.id,
            2500 + (r.id % 50) * 100, 'USD', r.id, r.referred_at + interval '2 days',
            statement_timestamp()
        FROM referrals r WHERE r.program_id = :p
          AND r.status IN ('qualified', 'rewarded', 'voided')
        """,
        """
        INSERT INTO conversions (source, external_id, kind, customer_id, order_id, amount_minor,
            currency, referral_id, occurred_at, processed_at)
        SELECT 'bench', 'rf-' || r.id, 'refund', r.referee_id, 'O-' || r.id,
            2500 + (r.id % 50) * 100, 'USD', r.id, r.referred_at + interval '5 days',
            statement_timestamp()
        FROM referrals r WHERE r.program_id = :p AND r.status = 'voided'
        """,
        """
        UPDATE referrals r SET qualifying_conversion_id = c.id
        FROM conversions c
        WHERE c.source = 'bench' AND c.external_id = 'po-' || r.id AND r.program_id = :p
        """,
        # Two issued grants per rewarded referral.
        """
        INSERT INTO reward_grants (idempotency_key, program_id, referral_id, beneficiary_id,
            role, reward_type, amount_minor, currency, status, hold_until)
        SELECT 'bench:' || r.id || ':' || g.role, :p, r.id,
            CASE g.role WHEN 'referrer' THEN r.referrer_id ELSE r.referee_id END,
            g.role, g.kind, g.amount, 'USD', 'issued', r.referred_at + interval '14 days'
        FROM referrals r
        CROSS JOIN (VALUES ('referrer', 'credit', 1000), ('referee', 'discount', 500))
            AS g(role, kind, amount)
        WHERE r.program_id = :p AND r.status = 'rewarded'
        """,
        # Two clicks per referral on the referrer's code, and an invitation per advocate.
        """
        INSERT INTO touches (program_id, code_id, kind, channel, visitor_id, occurred_at)
        SELECT :p, rc.id, 'click', (ARRAY['email','sms','whatsapp','copy'])[1 + (r.id % 4)],
            'bench-' || r.id || '-' || k, r.referred_at - interval '1 hour'
        FROM referrals r
        JOIN referral_codes rc ON rc.customer_id = r.referrer_id AND rc.program_id = :p
        CROSS JOIN generate_series(1, 2) k
        WHERE r.program_id = :p
        """,
        """
        INSERT INTO invitations (idempotency_key, program_id, customer_id, channel, trigger,
            created_at, opened_at, clicked_at)
        SELECT 'bench:' || a.id, :p, a.customer_id, 'email', 'scheduled',
            statement_timestamp() - interval '30 days',
            CASE WHEN a.id % 2 = 0 THEN statement_timestamp() END,
            CASE WHEN a.id % 5 = 0 THEN statement_timestamp() END
        FROM advocates a WHERE a.program_id = :p
        """,
        "ANALYZE",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)
