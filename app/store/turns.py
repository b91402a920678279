"""Whose turn it is to use SQLite, with the requests waiting for their ack served first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    """A re-entrant lock where urgent holders go before everyone else waiting.

    SQLite takes one writer at a time, so this process queues its transactions. Under
    load most of them are work done after an ack (provisioning steps, card refreshes);
    a request still waiting for its ack (its replay check, a declaration) must not
    queue behind them, or the Web API's pace and the listeners' CPU time land in the
    HTTP response time. Urgent waiters take the next turn; the others wait while any
    urgent one does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._urgent = threading.Condition(self._lock)
        self._others = threading.Condition(self._lock)
        self._owner: int | None = None
        self._depth = 0
        self._urgent_waiting = 0
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Threads waiting for a turn (for tests and diagnostics)."""
        with self._lock:
            return self._waiting

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    def _acquire(self, urgent: bool) -> None:
        me = threading.get_ident()
        with self._lock:
            if self._owner == me:
                self._depth += 1
                return
            self._urgent_waiting += urgent
            self._waiting += 1
            try:
                while self._owner is not None or (not urgent and self._urgent_waiting):
                    (self._urgent if urgent else self._others).wait()
            except BaseException:
                self._urgent_waiting -= urgent
                self._waiting -= 1
                self._wake_next()  # the wake-up this waiter may have taken
                raise
            self._urgent_waiting -= urgent
            self._waiting -= 1
            self._owner = me
            self._depth = 1

    def _release(self) -> None:
        with self._lock:
            self._depth -= 1
            if not self._depth:
                self._owner = None
                self._wake_next()

    def _wake_next(self) -> None:
        if self._owner is None:
            (self._urgent if self._urgent_waiting else self._others).notify()
