"""The bounded thread pool Bolt runs listeners on (each listener acks, then works)."""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from enum import IntEnum
from typing import Any, ParamSpec, TypeVar

from slack_bolt import Ack, BoltResponse

P = ParamSpec("P")
T = TypeVar("T")


class Lane(IntEnum):
    """Which queue a listener waits in for a thread; lower lanes are taken first."""

    # Commands, shortcuts, buttons: not acked yet, and the modal they may open must reach
    # Slack within its trigger id's 3 s.
    URGENT = 0
    # Other requests still waiting for their ack (modal submissions).
    ACK = 1
    # Events: Bolt acked them before queueing; only the work is left.
    ACKED = 2


_lane: contextvars.ContextVar[Lane] = contextvars.ContextVar("listener_lane", default=Lane.ACK)


def mark_lane(lane: Lane) -> None:
    """The lane of the listener this request thread submits next.

    Bolt runs the middleware chain and then submits the listener on the same thread, so
    the middleware sets this for the rest of the request (each request sets it again).
    """
    _lane.set(lane)


class ListenerExecutor(Executor):
    """Bounded threads for listeners, and a bound on how many work after their ack.

    Bolt calls a listener, and so its `ack()`, on this pool. A listener starts as soon as
    one of `max_threads` threads is free (commands and buttons first, then modal
    submissions, then events), so the part before its ack never waits for other
    requests' work. After its ack (`GatedAck`) it waits for one of `max_work` work
    slots: the Slack calls and transactions that follow run at most `max_work` at a
    time, and the rest wait without competing for the interpreter, the database pool or
    Slack's rate limits. Commands, shortcuts and buttons have as many slots again of
    their own, so their modal or reply never waits behind declarations. Event
    listeners, acked by Bolt before they queue, take a slot before they start.

    Accepted work is never dropped. When every thread is busy, requests wait in a queue
    of `max_queue`; when that is full, `submit` blocks the HTTP thread that calls it
    until a thread takes one (back-pressure: the server stops reading new requests).
    Context variables (the request's log fields) follow each task into its thread;
    `wait_idle` lets shutdown finish in-flight work (and tests wait for it).
    """

    def __init__(self, max_threads: int = 256, max_work: int = 32, max_queue: int = 1024) -> None:
        if min(max_threads, max_work, max_queue) < 1:
            raise ValueError("max_threads, max_work and max_queue must be at least 1")
        self.max_threads = max_threads
        self.max_work = max_work
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a task arrived, or shutdown
        self._room = threading.Condition(self._lock)  # the queue has room
        self._idle = threading.Condition(self._lock)  # nothing queued or running
        # A work slot is free: [0] for ordinary listeners, [1] for urgent ones.
        self._slots = (threading.Condition(self._lock), threading.Condition(self._lock))
        self._lanes: tuple[deque[_Task], ...] = tuple(deque() for _ in Lane)
        self._threads: list[threading.Thread] = []
        self._current = threading.local()
        self._free = 0  # threads waiting for a task and not yet woken
        self._busy = 0
        self._working = [0, 0]
        self._waiting_for_slot = 0
        self._shutdown = False

    # ---------------------------------------------------------------- introspection

    @property
    def queued(self) -> int:
        """Requests accepted and waiting for a thread (not yet acked, events aside)."""
        with self._lock:
            return self._queued()

    @property
    def busy(self) -> int:
        """Threads running a listener."""
        with self._lock:
            return self._busy

    @property
    def working(self) -> int:
        """Listeners past their ack holding a work slot."""
        with self._lock:
            return sum(self._working)

    @property
    def waiting_for_work_slot(self) -> int:
        """Listeners past their ack waiting for a work slot."""
        with self._lock:
            return self._waiting_for_slot

    @property
    def threads(self) -> int:
        """Threads started (on demand, up to `max_threads`)."""
        with self._lock:
            return len(self._threads)

    # ---------------------------------------------------------------- Executor

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        # Work a listener hands on (a Slack effect for the notifier) is acked already.
        lane = Lane.ACKED if getattr(self._current, "task", None) else _lane.get()
        task = _Task(future, contextvars.copy_context(), lambda: fn(*args, **kwargs), lane)
        with self._lock:
            while not self._shutdown and self._queued() >= self.max_queue:
                self._room.wait()
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._lanes[lane].append(task)
            if self._free:
                self._free -= 1  # counted here, so the next submit wakes another thread
                self._work.notify()
            elif len(self._threads) < self.max_threads:
                self._start_thread()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            self._free = 0
            if cancel_futures:
                for lane in self._lanes:
                    while lane:
                        lane.popleft().future.cancel()
            self._work.notify_all()
            self._room.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every submitted task has finished; False if `timeout` passed first."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._busy and not self._queued(), timeout)

    # ---------------------------------------------------------------- work slots

    def hold_work_slot(self) -> None:
        """Called on a listener's thread after its ack: wait for a work slot, keep it
        until the listener returns. Elsewhere (Bolt acking an event on the HTTP thread,
        a second ack) it does nothing.

        Commands, shortcuts and buttons have `max_work` slots of their own: their work is
        a `views.open` due within the trigger's 3 s, or a reply someone is watching for,
        and must not wait for declarations to finish talking to Slack.
        """
        task: _Task | None = getattr(self._current, "task", None)
        if task is None or task.holds_slot:
            return
        urgent = int(task.lane is Lane.URGENT)
        with self._lock:
            self._waiting_for_slot += 1
            while self._working[urgent] >= self.max_work:
                self._slots[urgent].wait()
            self._waiting_for_slot -= 1
            self._working[urgent] += 1
        task.holds_slot = True

    def _release_slot(self, task: _Task) -> None:
        if task.holds_slot:
            urgent = int(task.lane is Lane.URGENT)
            self._working[urgent] -= 1
            self._slots[urgent].notify()

    # ---------------------------------------------------------------- threads

    def _queued(self) -> int:
        return sum(len(lane) for lane in self._lanes)

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._run, name=f"listener-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _next(self) -> _Task | None:
        with self._lock:
            while not self._queued():
                if self._shutdown:
                    return None
                self._free += 1
                self._work.wait()
            task = next(lane for lane in self._lanes if lane).popleft()
            self._busy += 1
            self._room.notify()
            return task

    def _run(self) -> None:
        while (task := self._next()) is not None:
            self._current.task = task
            try:
                if task.lane is Lane.ACKED:
                    self.hold_work_slot()
                task.run()
            finally:
                self._current.task = None
                with self._lock:
                    self._release_slot(task)
                    self._busy -= 1
                    if not self._busy and not self._queued():
                        self._idle.notify_all()


class GatedAck(Ack):
    """Bolt's `ack()`, after which the listener waits for a work slot of `executor`."""

    def __init__(self, executor: ListenerExecutor) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._executor = executor

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = super().__call__(*args, **kwargs)
        self._executor.hold_work_slot()
        return response


class _Task:
    __slots__ = ("call", "context", "future", "holds_slot", "lane")

    def __init__(
        self,
        future: Future[Any],
        context: contextvars.Context,
        call: Callable[[], Any],
        lane: Lane,
    ) -> None:
        self.future = future
        self.context = context
        self.call = call
        self.lane = lane
        self.holds_slot = False

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.context.run(self.call)
        except BaseException as error:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)
