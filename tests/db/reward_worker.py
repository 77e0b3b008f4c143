"""A distribute_rewards run as its own process, for the crash and concurrency tests:
`python -m tests.db.reward_worker DATABASE_URL BATCH_SIZE`."""

import sys

from db.engine import make_engine, transaction
from db.rewards import complete_rewarded_referrals, release_holds
from tasks.rewards import grant_batch, issue_batch


def main(url: str, batch_size: int) -> None:
    engine = make_engine(url)
    while True:
        with transaction(engine) as session:
            if not grant_batch(session, batch_size)["referrals"]:
                break
    with transaction(engine) as session:
        release_holds(session)
    while True:
        with transaction(engine) as session:
            if not issue_batch(session, batch_size)["issued"]:
                break
    with transaction(engine) as session:
        complete_rewarded_referrals(session, None)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
