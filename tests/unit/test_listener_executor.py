"""The listener pool: bounded threads, accepted work kept, urgent work first, back-pressure."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from app.metrics import Metrics
from app.slack.executor import Lane, ListenerExecutor, mark_lane


def _listener_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("listener-")]


@pytest.fixture
def pool() -> ListenerExecutor:
    return ListenerExecutor(max_workers=2, max_queue=4, urgent_reserve=0)


def _block(pool: ListenerExecutor, release: threading.Event, count: int) -> list[Future[None]]:
    started = threading.Semaphore(0)

    def hold() -> None:
        started.release()
        release.wait(10)

    futures = [pool.submit(hold) for _ in range(count)]
    for _ in range(count):
        assert started.acquire(timeout=10)
    return futures


def test_threads_are_bounded_and_accepted_work_waits_in_the_queue(pool: ListenerExecutor) -> None:
    before = len(_listener_threads())
    release = threading.Event()
    _block(pool, release, 2)
    done: list[int] = []
    queued = [pool.submit(done.append, n) for n in range(4)]
    assert pool.busy == 2
    assert pool.queued == 4
    assert len(_listener_threads()) - before == 2
    release.set()
    assert pool.wait_idle(10)
    assert sorted(done) == [0, 1, 2, 3]
    assert all(f.done() for f in queued)
    pool.shutdown()


def test_urgent_work_is_taken_before_queued_ordinary_work(pool: ListenerExecutor) -> None:
    release = threading.Event()
    _block(pool, release, 2)
    order: list[str] = []
    for name, lane in (("event", Lane.ACKED), ("submission", Lane.ACK), ("command", Lane.URGENT)):
        mark_lane(lane)
        pool.submit(order.append, name)
    mark_lane(Lane.ACK)
    release.set()
    assert pool.wait_idle(10)
    assert order == ["command", "submission", "event"]
    pool.shutdown()


def test_urgent_work_has_threads_of_its_own_when_ordinary_work_fills_the_pool() -> None:
    pool = ListenerExecutor(max_workers=2, max_queue=8, urgent_reserve=1)
    release = threading.Event()
    _block(pool, release, 2)
    ordinary = pool.submit(lambda: "ordinary")
    mark_lane(Lane.URGENT)
    try:
        urgent = pool.submit(lambda: "urgent")
    finally:
        mark_lane(Lane.ACK)
    assert urgent.result(10) == "urgent"
    assert not ordinary.done(), "ordinary work waits for one of the ordinary workers"
    assert pool.threads == 3
    release.set()
    assert ordinary.result(10) == "ordinary"
    assert pool.threads == 3
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


def test_metrics_show_queue_depth_and_busy_workers(pool: ListenerExecutor) -> None:
    metrics = Metrics()
    metrics.watch_listeners(lambda: pool.queued, lambda: pool.busy)
    release = threading.Event()
    _block(pool, release, 2)
    for _ in range(3):
        pool.submit(lambda: None)
    text = metrics.render().decode()
    assert "firebreak_listener_queue_depth 3.0" in text
    assert "firebreak_listener_busy_workers 2.0" in text
    release.set()
    assert pool.wait_idle(10)
    assert "firebreak_listener_queue_depth 0.0" in metrics.render().decode()
    pool.shutdown()
