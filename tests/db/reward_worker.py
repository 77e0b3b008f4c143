"""A distribute_rewards run as its own process, for the crash and concurrency tests:
`python -m tests.db.reward_worker DATABASE_URL BATCH_SIZE [KILL_IN_ISSUE_BATCH]`.

With KILL_IN_ISSUE_BATCH=n the process sends itself SIGKILL inside the n-th issue batch,
after that batch's ledger, outbox and status writes and before its commit: the crash the
design must survive, at an exact point rather than a lucky one.
"""

import os
import signal
import sys

from db.engine import make_engine, transaction
from db.rewards import complete_rewarded_referrals, release_holds
from tasks.rewards import grant_batch, issue_batch


def main(url: str, batch_size: int, kill_in_issue_batch: int | None) -> None:
    engine = make_engine(url)
    while True:
        with transaction(engine) as session:
            if not grant_batch(session, batch_size)["referrals"]:
                break
    with transaction(engine) as session:
        release_holds(session)
    batch = 0
    while True:
        batch += 1
        with transaction(engine) as session:
            issued = issue_batch(session, batch_size)["issued"]
            if batch == kill_in_issue_batch:
                session.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        if not issued:
            break
    with transaction(engine) as session:
        complete_rewarded_referrals(session, None)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
