"""A token bucket: at most `rate` actions a second on average, bursts up to `burst`.

Pure: the clock and the sleep are passed in, so tests run in no time and the relay uses the
real ones. Providers publish their limits per account; staying under them beats being told
with 429s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float
    burst: float = 1.0
    clock: Callable[[], float] = field(repr=False, default=lambda: 0.0)
    sleep: Callable[[float], None] = field(repr=False, default=lambda _seconds: None)
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate must be positive and a burst at least 1")
        self._tokens, self._at = self.burst, self.clock()

    def take(self) -> float:
        """Wait until one action is allowed, then take it; returns the seconds waited."""
        self._refill()
        waited = 0.0
        if self._tokens < 1:
            waited = (1 - self._tokens) / self.rate
            self.sleep(waited)
            self._refill()
            self._tokens = max(self._tokens, 1.0)  # the sleep may come back a hair early
        self._tokens -= 1
        return waited

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
