"""A distribute_rewards run as its own process, for the crash and concurrency tests:
`python -m tests.db.reward_worker DATABASE_URL BATCH_SIZE [grant|issue N]`.

With `grant N` or `issue N` the process sends itself SIGKILL inside its n-th grant or issue
batch, after that batch's writes (grants, ledger, outbox, statuses) and before its commit:
the crash the design must survive, at an exact point rather than a lucky one.
"""

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from db.engine import make_engine, transaction
from db.rewards import complete_rewarded_referrals, release_holds
from tasks.rewards import grant_batch, issue_batch


def main(url: str, batch_size: int, kill_in: str | None, kill_at: int | None) -> None:
    engine = make_engine(url)

    def batches(
        name: str,
        step: Callable[[Session, int], dict[str, Any]],
        done: Callable[[dict[str, Any]], bool],
    ) -> None:
        number = 0
        while True:
            number += 1
            with transaction(engine) as session:
                result = step(session, batch_size)
                if (name, number) == (kill_in, kill_at):
                    session.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
            if done(result):
                return

    batches("grant", grant_batch, lambda result: not result["referrals"])
    with transaction(engine) as session:
        release_holds(session)
    batches("issue", issue_batch, lambda result: not result["issued"])
    with transaction(engine) as session:
        complete_rewarded_referrals(session, None)


if __name__ == "__main__":
    kill = sys.argv[3:5]
    main(sys.argv[1], int(sys.argv[2]), kill[0] if kill else None, int(kill[1]) if kill else None)
