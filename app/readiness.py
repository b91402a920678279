"""Readiness: is the database answering and does Slack accept our token?

Probes are short (one try, a 1 s timeout) and their answer is kept for a few seconds,
so a load balancer polling /readyz while Slack is slow costs one probe at a time and
never ties up the threads that serve Slack's requests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.store.database import Database

PROBE_TIMEOUT_SECONDS = 1
Checks = dict[str, str]


def slack_probe(token: str | None, base_url: str) -> Callable[[], str]:
    """auth.test with no retries and a short timeout: "ok" or why not."""
    client = WebClient(
        token=token, base_url=base_url, timeout=PROBE_TIMEOUT_SECONDS, retry_handlers=[]
    )

    def probe() -> str:
        try:
            client.auth_test()
        except SlackApiError as error:
            return str(error.response.get("error") or f"http_{error.response.status_code}")
        except OSError as error:
            return "timeout" if isinstance(error, TimeoutError) else "unreachable"
        return "ok"

    return probe


class Readiness:
    def __init__(
        self,
        db: Database,
        slack: Callable[[], str],
        max_age_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.slack = slack
        self.max_age = max_age_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._checks: Checks = {}

    def current(self) -> Checks:
        # One prober at a time; the others wait for its answer instead of probing too.
        with self._lock:
            fresh = self._checked_at is not None and self.clock() - self._checked_at < self.max_age
            if not fresh:
                self._checks = {
                    "database": "ok" if self.db.ping() else "unreachable",
                    "slack": self.slack(),
                }
                self._checked_at = self.clock()
            return dict(self._checks)
