"""The token bucket keeps a provider's pace: bursts up to the limit, then one action per
1/rate seconds, never faster over any stretch."""

from hypothesis import given
from hypothesis import strategies as st

from referral.rate_limit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def bucket(rate: float, burst: float = 1.0) -> tuple[TokenBucket, Clock]:
    clock = Clock()
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep), clock


def test_a_burst_goes_at_once_then_the_pace_is_the_rate():
    limiter, clock = bucket(rate=10, burst=3)
    assert [limiter.take() for _ in range(3)] == [0, 0, 0]
    limiter.take()
    assert abs(clock.now - 0.1) < 1e-9
    limiter.take()
    assert abs(clock.now - 0.2) < 1e-9


def test_an_idle_bucket_refills_to_its_burst_and_no_further():
    limiter, clock = bucket(rate=10, burst=2)
    limiter.take(), limiter.take()
    clock.now += 60
    assert [limiter.take() for _ in range(2)] == [0, 0]
    assert limiter.take() > 0


@given(
    rate=st.floats(0.5, 500),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=60),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate, burst, gaps):
    limiter, clock = bucket(rate, burst)
    for gap in gaps:
        clock.now += gap
        limiter.take()
    assert len(gaps) <= burst + rate * clock.now + 1e-6
