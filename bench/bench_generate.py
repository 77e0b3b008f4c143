"""Throughput and memory of the synthetic CRM generator.

    python -m bench.bench_generate --customers 1000000 --seed 1 [--csv out.csv] [--activity N]

Prints customers per second and the process's peak RSS. Peak RSS should not grow with
--customers: the generator streams.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from integrations.crm.synthetic import (
    Advocate,
    generate_activity,
    generate_customers,
    write_customers_csv,
)

# Fixed, so two runs with the same arguments produce the same data.
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", type=Path, help="also write the customers to this CSV")
    parser.add_argument(
        "--activity", type=int, default=0, help="also generate activity for this many advocates"
    )
    args = parser.parse_args(argv)

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    cpu_started = time.process_time()
    records = generate_customers(args.customers, seed=args.seed, now=NOW)
    if args.csv:
        count = write_customers_csv(args.csv, records)
    else:
        count = 0
        for _ in records:
            count += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(f"customers:        {count:,}")
    print(f"elapsed:          {elapsed:.2f} s (cpu {cpu:.2f} s)")
    print(f"customers/s:      {count / elapsed:,.0f} (per cpu-second {count / cpu:,.0f})")
    print(f"peak RSS:         {peak_rss_mb():.1f} MB (at start {rss_before:.1f} MB)")

    if args.activity:
        advocates = [
            Advocate.from_customer(c, f"CODE{i:07d}")
            for i, c in enumerate(generate_customers(args.activity, seed=args.seed, now=NOW))
        ]
        started = time.perf_counter()
        events = sum(1 for _ in generate_activity(advocates, seed=args.seed, now=NOW))
        elapsed = time.perf_counter() - started
        print(f"activity:         {events:,} events for {len(advocates):,} advocates")
        print(f"events/s:         {events / elapsed:,.0f}")
        print(f"peak RSS:         {peak_rss_mb():.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
