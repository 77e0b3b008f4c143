"""The nightly chain over the 10k-customer demo shop, timed as a user meets it: `referral`
processes on the embedded default (SQLite, Prefect's ephemeral API), each paying for its
own start, Prefect's server included.

    python -m bench.nightly [--customers 10000]

`referral demo` seeds the shop and runs its first night (every conversion new); `referral
run nightly` is then a night after it: the whole chain, CRM sync and advocate scoring
included, over the same data. Issue 3's target: the nightly flow in < 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

console = Console(width=150)
TARGET_SECONDS = 30.0
REFERRAL = shutil.which("referral", path=str(Path(sys.executable).parent)) or "referral"


def measure(customers: int = 10_000) -> list[tuple[str, int, float]]:
    """(stage, customers, seconds) for the demo's first night and a nightly run after it."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REFERRAL_", "PREFECT_"))}
        env |= {"REFERRAL_DATA_DIR": f"{tmp}/data", "PREFECT_HOME": f"{tmp}/prefect"}

        def timed(*args: str) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            done = subprocess.run(
                [REFERRAL, *args, "--json"],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=600,
            )
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"`referral {' '.join(args)}` failed:\n{done.stderr[-3000:]}")
            return seconds, json.loads(done.stdout)

        demo_seconds, demo = timed("demo", "--customers", str(customers))
        nightly_seconds, _ = timed("run", "nightly")
        return [
            (
                f"demo: {customers:,} customers seeded, first night "
                f"({sum(demo['referrals'].values()):,} referrals)",
                customers,
                demo_seconds,
            ),
            ("nightly after it, sync and scoring included", customers, nightly_seconds),
        ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    for stage, _customers, seconds in measure(args.customers):
        console.print(f"{stage}: {seconds:.1f} s, Prefect's start included")
    console.print(f"target: the nightly flow in < {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
