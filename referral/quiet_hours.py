"""Quiet hours: no SMS or WhatsApp while the recipient is likely asleep, on their own clock.

`QuietHours` is a window of wall-clock times, start included and end excluded, that may wrap
midnight (21:00-08:00). `next_allowed` tells the relay when a message may go: now when the
recipient's clock is outside the window, else the first instant (UTC) at which it leaves it.

The recipient's zone is an IANA name (`Europe/Berlin`) from the CRM; a missing, unknown or
malformed name falls back to the program's default zone rather than failing the message.
Daylight-saving changes are followed exactly: when the window's end falls in the hour a
spring change skips, quiet hours end at the change itself (the clock jumps past the end);
when it falls in the hour an autumn change repeats, they end at its first occurrence, and a
message asked about during the repeat waits for the second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Real zone files that name the server's zone, not anybody's home.
_NOT_A_PLACE: Final = frozenset({"localtime", "posixrules"})
_SPEC: Final = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Each step either answers or moves strictly forward to the end of a window; two steps suffice
# unless a time change lands the clock in the window again (a skipped day, a tiny gap).
_MAX_STEPS: Final = 8


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Wall-clock times from `start` (included) to `end` (excluded); wraps midnight when
    `start` is after `end`. Equal times are refused: no quiet hours is `None`, not a window."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are wall-clock times, without a time zone")
        if self.start == self.end:
            raise ValueError("quiet hours need a start and an end that differ")

    @classmethod
    def parse(cls, spec: str) -> QuietHours:
        """`"21:00-08:00"`, the form settings and program files use."""
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError("quiet hours are written HH:MM-HH:MM, e.g. 21:00-08:00")
        sh, sm, eh, em = (int(part) for part in match.groups())
        return cls(time(sh, sm), time(eh, em))

    @property
    def wraps_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, wall: time) -> bool:
        """Whether a clock showing `wall` is inside the window."""
        wall = wall.replace(tzinfo=None)
        if self.wraps_midnight:
            return wall >= self.start or wall < self.end
        return self.start <= wall < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    if name in _NOT_A_PLACE:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # Unknown key, a malformed or escaping path, a directory, a name too long.
        return None


def resolve_zone(tz_name: str | None, default_tz: str = "UTC") -> ZoneInfo:
    """The zone called `tz_name`, else the default one. An unusable default is a
    configuration mistake and raises ValueError."""
    zone = _zone(tz_name.strip()) if tz_name and tz_name.strip() else None
    if zone is not None:
        return zone
    fallback = _zone(default_tz.strip())
    if fallback is None:
        raise ValueError("the default time zone is not a known IANA zone name")
    return fallback


def is_quiet(
    now_utc: datetime, tz_name: str | None, quiet: QuietHours, default_tz: str = "UTC"
) -> bool:
    _require_aware(now_utc)
    local = now_utc.astimezone(resolve_zone(tz_name, default_tz))
    return quiet.contains(local.time())


def next_allowed(
    now_utc: datetime, tz_name: str | None, quiet: QuietHours, default_tz: str = "UTC"
) -> datetime:
    """`now_utc` (as UTC) when a message may go now, else the earliest later instant, in
    UTC, at which the recipient's clock is outside quiet hours."""
    _require_aware(now_utc)
    zone = resolve_zone(tz_name, default_tz)
    moment = now_utc.astimezone(UTC)
    for _ in range(_MAX_STEPS):
        local = moment.astimezone(zone)
        if not quiet.contains(local.time()):
            return moment
        moment = _window_end(moment, local, zone, quiet)
    raise AssertionError("quiet hours never ended")  # pragma: no cover


def _require_aware(now_utc: datetime) -> None:
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware")


def _window_end(moment: datetime, local: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """The first instant after `moment` at which the window `moment` is in ends."""
    day = local.date()
    if quiet.wraps_midnight and local.time() >= quiet.start:
        day += timedelta(days=1)
    for _ in range(3):
        wall = datetime.combine(day, quiet.end)
        later = [t for t in _instants_showing(wall, zone) if t > moment]
        if later:
            return min(later)
        # The clock went back past today's end and never reaches it again: tomorrow's.
        day += timedelta(days=1)  # pragma: no cover
    raise AssertionError("no end of quiet hours within three days")  # pragma: no cover


def _instants_showing(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which a clock in `zone` reads `wall`: one, two in a repeated
    hour, or, when `wall` is skipped by a time change, the change itself (the first instant
    reading later than `wall`)."""
    readings = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    exact = [t for t in readings if t.astimezone(zone).replace(tzinfo=None) == wall]
    if exact:
        return sorted(exact)
    return [_change_instant(min(readings), max(readings), wall, zone)]


def _change_instant(lo: datetime, hi: datetime, wall: datetime, zone: ZoneInfo) -> datetime:
    """The time change between `lo` (clock before `wall`) and `hi` (clock past it).

    The two readings of a skipped time bracket the change: one applies the offset before it,
    the other the offset after. Zone changes happen on whole seconds, so a search over whole
    seconds finds the exact instant.
    """

    def past(second: int) -> bool:
        return datetime.fromtimestamp(second, UTC).astimezone(zone).replace(tzinfo=None) >= wall

    low = int(lo.timestamp()) - 1
    high = int(hi.timestamp()) + 1
    while high - low > 1:
        mid = (low + high) // 2
        if past(mid):
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)
