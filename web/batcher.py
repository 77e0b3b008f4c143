"""Group commit: the writes of many concurrent requests in one transaction.

A request hands its rows to a `Batcher` and awaits the outcome; one writer takes whatever has
queued up (up to `max_batch` units), writes it in one transaction on a worker thread, and
answers every waiting request at once. Each request still gets its answer only after its rows
are committed, but the database sees one statement and one commit per batch instead of a
handful per request, and the event loop never waits on the database.

One bad unit (a value the database refuses) must not fail the others: a batch that fails is
written again unit by unit, so only the culprit gets the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

log = logging.getLogger("referral.web.batcher")

Unit = TypeVar("Unit")
Outcome = TypeVar("Outcome")


class Batcher(Generic[Unit, Outcome]):
    def __init__(
        self,
        name: str,
        write: Callable[[Sequence[Unit]], Sequence[Outcome]],
        *,
        max_batch: int = 500,
    ) -> None:
        """`write` takes units and returns one outcome per unit, in order, in one
        transaction; it runs on this batcher's own thread. One writer: more threads were
        tried and were slower, the interpreter's lock being the limit, not the database."""
        self.name = name
        self._write = write
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Unit, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"batcher-{name}")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def submit(self, unit: Unit) -> Outcome:
        """The unit's outcome once it is committed; the write's exception if it failed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((unit, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            units = [unit for unit, _ in batch]
            try:
                outcomes = await loop.run_in_executor(self._executor, self._write_each, units)
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the request went away
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _write_each(self, units: list[Unit]) -> list[Outcome | BaseException]:
        try:
            return list(self._write(units))
        except Exception:
            if len(units) == 1:
                raise
            log.warning(
                "%s: a batch of %d failed; writing its units one by one", self.name, len(units)
            )
        outcomes: list[Outcome | BaseException] = []
        for unit in units:
            try:
                outcomes.append(self._write([unit])[0])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
