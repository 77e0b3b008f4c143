"""Starting the inbox flow after events arrive, without making the sender wait for Prefect.

The inbox row is committed before the 2xx; starting a flow run is a best effort on top. A
background thread coalesces a burst of events into one `run_deployment` call whose
idempotency key is the highest inbox id seen, so two web workers that saw the same events
start one run. If Prefect is down or the deployment is missing, the rows wait for the
scheduled sweep (the same flow on a cron): nothing is lost and nothing runs twice, because
the flow claims rows, not events.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger("referral.web.trigger")

INBOX_DEPLOYMENT = "process-inbox/process-inbox"


class FlowTrigger(Protocol):
    def notify(self, inbox_id: int) -> None:
        """An inbox row with this id was committed."""

    def close(self) -> None: ...


class NoTrigger:
    """For a web service without a Prefect server: the schedule sweeps the inbox."""

    def notify(self, inbox_id: int) -> None:
        pass

    def close(self) -> None:
        pass


class DeploymentTrigger:
    """Runs the inbox deployment at most once per `debounce_seconds` while events arrive."""

    def __init__(self, deployment: str = INBOX_DEPLOYMENT, debounce_seconds: float = 0.5):
        self.deployment = deployment
        self.debounce_seconds = debounce_seconds
        self._highest = 0
        self._started_for = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="inbox-trigger", daemon=True)
        self._thread.start()

    def notify(self, inbox_id: int) -> None:
        with self._lock:
            self._highest = max(self._highest, inbox_id)
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            self._stop.wait(self.debounce_seconds)  # let a burst gather
            with self._lock:
                highest = self._highest
            if highest > self._started_for:
                self._start(highest)

    def _start(self, highest: int) -> None:
        from prefect.deployments import run_deployment

        try:
            run_deployment(
                name=self.deployment,
                timeout=0,
                idempotency_key=f"inbox:{highest}",
                tags=["webhook"],
            )
            self._started_for = highest
        except Exception as exc:
            log.warning(
                "could not start %s (%s); the scheduled sweep will process the inbox",
                self.deployment,
                type(exc).__name__,
            )
