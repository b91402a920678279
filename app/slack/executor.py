"""The bounded worker pool Bolt runs listeners on (each listener acks, then works)."""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from enum import IntEnum
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Lane(IntEnum):
    """Which queue a listener waits in; lower lanes are taken first."""

    # Commands, shortcuts, buttons: not acked yet, and the modal they may open must reach
    # Slack within its trigger id's 3 s. Short work (one or a few Slack calls).
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
    """Bounded threads; accepted work waits in a queue and is never dropped.

    Bolt calls a listener, and so its `ack()`, on this pool. At most `max_workers`
    threads run ordinary work; `urgent_reserve` more may start for the urgent lane only,
    so a command's ack and its modal do not wait for declarations to finish their Slack
    calls. Idle workers take the urgent lane first, then the others in lane order.
    When `max_queue` tasks wait, `submit` blocks the HTTP thread that calls it until a
    worker takes one (back-pressure: the server stops reading new requests, and what it
    accepted still runs). Context variables (the request's log fields) follow each task
    into its thread; `wait_idle` lets shutdown finish in-flight work (and tests wait).
    """

    def __init__(
        self, max_workers: int = 32, max_queue: int = 1024, urgent_reserve: int | None = None
    ) -> None:
        if max_workers < 1 or max_queue < 1:
            raise ValueError("max_workers and max_queue must be at least 1")
        self.max_workers = max_workers
        self.max_queue = max_queue
        self.max_threads = max_workers + (
            max(1, max_workers // 2) if urgent_reserve is None else urgent_reserve
        )
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a task a waiting worker may take
        self._room = threading.Condition(self._lock)  # the queue has room
        self._idle = threading.Condition(self._lock)  # nothing queued or running
        self._lanes: tuple[deque[_Task], ...] = tuple(deque() for _ in Lane)
        self._threads: list[threading.Thread] = []
        self._free = 0  # workers waiting and not yet woken
        self._busy = 0
        self._busy_ordinary = 0
        self._shutdown = False

    # ---------------------------------------------------------------- introspection

    @property
    def queued(self) -> int:
        """Tasks accepted and waiting for a worker."""
        with self._lock:
            return self._queued()

    @property
    def busy(self) -> int:
        """Workers running a task."""
        with self._lock:
            return self._busy

    @property
    def threads(self) -> int:
        """Worker threads started (on demand, up to `max_threads`)."""
        with self._lock:
            return len(self._threads)

    # ---------------------------------------------------------------- Executor

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        lane = _lane.get()
        task = _Task(future, contextvars.copy_context(), lambda: fn(*args, **kwargs))
        with self._lock:
            while not self._shutdown and self._queued() >= self.max_queue:
                self._room.wait()
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._lanes[lane].append(task)
            if self._free:
                self._free -= 1  # counted here, so the next submit wakes another worker
                self._work.notify()
            elif len(self._threads) < self.max_threads:
                self._start_worker()
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

    # ---------------------------------------------------------------- workers

    def _queued(self) -> int:
        return sum(len(lane) for lane in self._lanes)

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=self._worker, name=f"listener-{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _take(self) -> tuple[_Task, bool] | None:
        """The next task this worker may run (and whether it is ordinary), if any."""
        if self._lanes[Lane.URGENT]:
            return self._lanes[Lane.URGENT].popleft(), False
        if self._busy_ordinary < self.max_workers:
            for lane in self._lanes[1:]:
                if lane:
                    return lane.popleft(), True
        return None

    def _next(self) -> tuple[_Task, bool] | None:
        with self._lock:
            while (taken := self._take()) is None:
                if self._shutdown and not self._queued():
                    return None
                self._free += 1
                self._work.wait()
            self._busy += 1
            self._busy_ordinary += taken[1]
            self._room.notify()
            return taken

    def _worker(self) -> None:
        while (taken := self._next()) is not None:
            task, ordinary = taken
            try:
                task.run()
            finally:
                with self._lock:
                    self._busy -= 1
                    self._busy_ordinary -= ordinary
                    if not self._busy and not self._queued():
                        self._idle.notify_all()


class _Task:
    __slots__ = ("call", "context", "future")

    def __init__(
        self, future: Future[Any], context: contextvars.Context, call: Callable[[], Any]
    ) -> None:
        self.future = future
        self.context = context
        self.call = call

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.context.run(self.call)
        except BaseException as error:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)
