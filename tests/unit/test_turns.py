"""SQLite turns: a request waiting for its ack goes before queued background work."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.store.turns import Turns


def _wait_until(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    while not condition():
        event.wait(0.001)


def _queue(turns: Turns, name: str, order: list[str], *, urgent: bool) -> threading.Thread:
    def take() -> None:
        with turns.turn(urgent=urgent):
            order.append(name)

    waiting = turns.waiting
    thread = threading.Thread(target=take)
    thread.start()
    _wait_until(lambda: turns.waiting == waiting + 1)
    return thread


def test_urgent_waiters_take_the_next_turns_before_earlier_background_ones() -> None:
    turns = Turns()
    order: list[str] = []
    with turns.turn():
        threads = [
            _queue(turns, "background 1", order, urgent=False),
            _queue(turns, "background 2", order, urgent=False),
            _queue(turns, "ack 1", order, urgent=True),
            _queue(turns, "ack 2", order, urgent=True),
        ]
    for thread in threads:
        thread.join()
    assert order[:2] == ["ack 1", "ack 2"] or order[:2] == ["ack 2", "ack 1"]
    assert sorted(order[2:]) == ["background 1", "background 2"]


def test_a_holder_may_take_its_turn_again_inside_it() -> None:
    turns = Turns()
    order: list[str] = []
    with turns.turn(), turns.turn(urgent=True):
        waiter = _queue(turns, "other", order, urgent=True)
        order.append("nested")
    waiter.join()
    assert order == ["nested", "other"]
