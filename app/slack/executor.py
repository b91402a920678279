"""The bounded worker pool Bolt runs listeners on (each listener acks, then works)."""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Set by the request's middleware before Bolt submits its listener: work whose ack or
# first Slack call is time-critical (a trigger id that expires 3 s after the click).
_urgent: contextvars.ContextVar[bool] = contextvars.ContextVar("urgent_listener", default=False)


def mark_urgent(urgent: bool) -> None:
    """Whether the listener this request thread submits next goes in the urgent lane.

    Bolt runs the middleware chain and then submits the listener on the same thread, so
    this is set for the rest of the request (each request sets it again).
    """
    _urgent.set(urgent)


class ListenerExecutor(Executor):
    """At most `max_workers` threads; accepted work waits in a queue, never dropped.

    Bolt calls a listener, and so its `ack()`, on this pool, so a task in the queue is a
    request not yet acked: urgent ones (slash commands, buttons: their trigger ids expire)
    are taken first. When `max_queue` tasks wait, `submit` blocks the HTTP thread that
    calls it until a worker takes one (back-pressure: the server stops reading new
    requests, and what it accepted still runs). Context variables (the request's log
    fields) follow each task into its thread; `wait_idle` lets shutdown finish in-flight
    work (and tests wait for it).
    """

    def __init__(self, max_workers: int = 64, max_queue: int = 1024) -> None:
        if max_workers < 1 or max_queue < 1:
            raise ValueError("max_workers and max_queue must be at least 1")
        self.max_workers = max_workers
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # a task arrived, or shutdown
        self._room = threading.Condition(self._lock)  # the queue has room
        self._idle = threading.Condition(self._lock)  # nothing queued or running
        self._lanes: tuple[deque[_Task], deque[_Task]] = (deque(), deque())  # urgent, other
        self._threads: list[threading.Thread] = []
        self._free = 0
        self._busy = 0
        self._shutdown = False

    # ---------------------------------------------------------------- introspection

    @property
    def queued(self) -> int:
        """Tasks accepted and waiting for a worker."""
        with self._lock:
            return len(self._lanes[0]) + len(self._lanes[1])

    @property
    def threads(self) -> int:
        """Worker threads started (they start on demand, up to `max_workers`)."""
        with self._lock:
            return len(self._threads)

    @property
    def busy(self) -> int:
        """Workers running a task."""
        with self._lock:
            return self._busy

    # ---------------------------------------------------------------- Executor

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        task = _Task(future, contextvars.copy_context(), lambda: fn(*args, **kwargs))
        with self._lock:
            while not self._shutdown and self._queued() >= self.max_queue:
                self._room.wait()
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            self._lanes[0 if _urgent.get() else 1].append(task)
            if self._free:
                self._free -= 1  # counted here, so the next submit wakes another worker
                self._work.notify()
            elif len(self._threads) < self.max_workers:
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
        return len(self._lanes[0]) + len(self._lanes[1])

    def _start_worker(self) -> None:
        thread = threading.Thread(
            target=self._worker, name=f"listener-{len(self._threads)}", daemon=True
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
            task = (self._lanes[0] or self._lanes[1]).popleft()
            self._busy += 1
            self._room.notify()
            return task

    def _worker(self) -> None:
        while (task := self._next()) is not None:
            try:
                task.run()
            finally:
                with self._lock:
                    self._busy -= 1
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
