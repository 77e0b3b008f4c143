"""A batch runs without the cyclic garbage collector and hands it back as it found it."""

import gc

import pytest

from tasks.base import collection_paused


@collection_paused
def batch(fail: bool = False) -> bool:
    if fail:
        raise RuntimeError("the batch failed")
    return gc.isenabled()


@pytest.fixture
def collector_state():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_during_the_batch_and_on_again_after(collector_state):
    gc.enable()
    assert batch() is False
    assert gc.isenabled()


def test_a_failing_batch_turns_it_back_on_too(collector_state):
    gc.enable()
    with pytest.raises(RuntimeError, match="the batch failed"):
        batch(fail=True)
    assert gc.isenabled()


def test_a_caller_that_turned_it_off_keeps_it_off(collector_state):
    gc.disable()
    assert batch() is False
    assert not gc.isenabled()
