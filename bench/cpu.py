"""CPU time the whole machine spends, every process counted (ours and the database server's),
from Linux's /proc/stat: whether a throughput target fits the machine's cores at all."""

from __future__ import annotations

import os
from pathlib import Path

STAT = Path("/proc/stat")


def cores() -> int:
    return os.cpu_count() or 1


def machine_cpu_seconds() -> float:
    """Busy CPU time of all cores since boot (user, nice, system, irq, softirq, steal);
    0.0 where /proc/stat is missing, which makes every difference 0."""
    if not STAT.exists():
        return 0.0
    fields = [int(v) for v in STAT.read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # less idle and iowait; guest is in user
    return busy / os.sysconf("SC_CLK_TCK")
