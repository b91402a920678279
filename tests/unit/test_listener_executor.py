"""The listener pool: bounded threads, accepted work kept, acks before work, back-pressure."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

import pytest

from app.metrics import Metrics
from app.slack.inbound.executor import GatedAck, Lane, ListenerExecutor, mark_lane


@pytest.fixture
def pool() -> ListenerExecutor:
    return ListenerExecutor(max_threads=2, max_work=2, max_queue=4)


def _block(pool: ListenerExecutor, release: threading.Event, count: int) -> list[Future[None]]:
    started = threading.Semaphore(0)

    def hold() -> None:
        started.release()
        release.wait(10)

    futures = [pool.submit(hold) for _ in range(count)]
    for _ in range(count):
        assert started.acquire(timeout=10)
    return futures


def _submit_in(pool: ListenerExecutor, lane: Lane, fn: Callable[[], object]) -> Future[object]:
    mark_lane(lane)
    try:
        return pool.submit(fn)
    finally:
        mark_lane(Lane.ACK)


def test_threads_are_bounded_and_accepted_work_waits_in_the_queue(pool: ListenerExecutor) -> None:
    release = threading.Event()
    _block(pool, release, 2)
    done: list[int] = []
    queued = [pool.submit(done.append, n) for n in range(4)]
    assert (pool.busy, pool.queued, pool.threads) == (2, 4, 2)
    release.set()
    assert pool.wait_idle(10)
    assert sorted(done) == [0, 1, 2, 3]
    assert all(f.done() for f in queued)
    assert pool.threads == 2
    pool.shutdown()


def test_commands_then_submissions_then_events(pool: ListenerExecutor) -> None:
    release = threading.Event()
    _block(pool, release, 2)
    order: list[str] = []
    for name, lane in (("event", Lane.ACKED), ("submission", Lane.ACK), ("command", Lane.URGENT)):
        _submit_in(pool, lane, lambda name=name: order.append(name))  # type: ignore[misc]
    release.set()
    assert pool.wait_idle(10)
    assert order == ["command", "submission", "event"]
    pool.shutdown()


def _until(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(500):
        if condition():
            return
        done.wait(0.01)


def test_acks_are_not_held_back_by_work_after_other_acks() -> None:
    pool = ListenerExecutor(max_threads=4, max_work=1, max_queue=8)
    release = threading.Event()
    acks = {"first": GatedAck(pool), "second": GatedAck(pool)}
    worked: list[str] = []

    def listener(name: str) -> None:
        acks[name]()
        worked.append(name)
        if name == "first":
            release.wait(10)

    first = _submit_in(pool, Lane.ACK, lambda: listener("first"))
    _until(lambda: pool.working == 1)  # the first listener has the only work slot
    second = _submit_in(pool, Lane.ACK, lambda: listener("second"))
    _until(lambda: pool.waiting_for_work_slot == 1)
    # The second listener acked while the first held the only work slot; its work waits.
    assert acks["second"].response is not None
    assert (pool.working, pool.waiting_for_work_slot) == (1, 1)
    assert worked == ["first"]
    assert not second.done()
    release.set()
    first.result(10)
    second.result(10)
    assert worked == ["first", "second"]
    assert pool.working == 0
    pool.shutdown()


def test_event_work_takes_a_slot_before_it_starts() -> None:
    pool = ListenerExecutor(max_threads=4, max_work=1, max_queue=8)
    release = threading.Event()
    holder = pool.submit(lambda: (GatedAck(pool)(), release.wait(10)))
    _until(lambda: pool.working == 1)  # the holder has the only work slot
    event = _submit_in(pool, Lane.ACKED, lambda: "event done")
    _until(lambda: pool.waiting_for_work_slot == 1)
    assert pool.waiting_for_work_slot == 1
    assert not event.done()
    release.set()
    holder.result(10)
    assert event.result(10) == "event done"
    pool.shutdown()


def test_a_full_queue_makes_the_submitter_wait_and_drops_nothing(pool: ListenerExecutor) -> None:
    release = threading.Event()
    _block(pool, release, 2)
    done: list[int] = []
    for n in range(4):
        pool.submit(done.append, n)
    submitted = threading.Event()

    def fifth() -> None:
        pool.submit(done.append, 4)
        submitted.set()

    waiter = threading.Thread(target=fifth)
    waiter.start()
    assert not submitted.wait(0.3), "a full queue must hold the submitter back"
    release.set()
    assert submitted.wait(10)
    waiter.join()
    assert pool.wait_idle(10)
    assert sorted(done) == [0, 1, 2, 3, 4]
    pool.shutdown()


def test_errors_reach_the_future_and_shutdown_finishes_queued_work(
    pool: ListenerExecutor,
) -> None:
    def fail() -> None:
        raise ValueError("boom")

    failed = pool.submit(fail)
    with pytest.raises(ValueError, match="boom"):
        failed.result(10)
    release = threading.Event()
    _block(pool, release, 2)
    later = pool.submit(lambda: "finished")
    release.set()
    pool.shutdown(wait=True)
    assert later.result(0) == "finished"
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)


def test_metrics_show_the_queue_threads_and_work_slots(pool: ListenerExecutor) -> None:
    metrics = Metrics()
    metrics.watch_listeners(pool)
    release = threading.Event()
    _block(pool, release, 2)
    for _ in range(3):
        pool.submit(lambda: None)
    text = metrics.render().decode()
    assert "firebreak_listener_queue_depth 3.0" in text
    assert "firebreak_listener_busy_threads 2.0" in text
    assert "firebreak_listener_busy_workers 0.0" in text
    assert "firebreak_listener_waiting_for_worker 0.0" in text
    release.set()
    assert pool.wait_idle(10)
    assert "firebreak_listener_queue_depth 0.0" in metrics.render().decode()
    pool.shutdown()


def test_commands_and_buttons_have_work_slots_of_their_own() -> None:
    pool = ListenerExecutor(max_threads=8, max_work=1, max_queue=8)
    release = threading.Event()
    order: list[str] = []

    def listener(name: str, hold: bool = False) -> None:
        GatedAck(pool)()
        order.append(name)
        if hold:
            release.wait(10)

    first = pool.submit(listener, "submission 1", True)
    _until(lambda: pool.working == 1)
    second = pool.submit(listener, "submission 2")
    _until(lambda: pool.waiting_for_work_slot == 1)
    command = _submit_in(pool, Lane.URGENT, lambda: listener("command", False))
    # The only ordinary slot is taken and a submission waits for it; the command does not.
    assert command.result(10) is None
    assert order == ["submission 1", "command"]
    release.set()
    for future in (first, second):
        future.result(10)
    assert order == ["submission 1", "command", "submission 2"]
    # Commands are bounded too: a second one waits while the first holds their slot.
    release.clear()
    busy = _submit_in(pool, Lane.URGENT, lambda: listener("command 2", True))
    _until(lambda: pool.working == 1)
    third = _submit_in(pool, Lane.URGENT, lambda: listener("command 3"))
    _until(lambda: pool.waiting_for_work_slot == 1)
    assert not third.done()
    release.set()
    busy.result(10)
    assert third.result(10) is None
    pool.shutdown()
