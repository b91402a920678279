"""Reads cost a fixed number of database round trips, however many incidents are open."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.incidents.service import Declaration
from app.runtime import Runtime
from emulator import SlackEmulator
from tests.support.driver import SlackDriver


@contextmanager
def counted_round_trips(runtime: Runtime) -> Iterator[list[str]]:
    """Every statement any of the runtime's engines sends, while the block runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = runtime.db.engines()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _open_incidents(runtime: Runtime, team_id: str, users: list[str], count: int) -> None:
    """Declare `count` incidents (each with a commander and a reminder due), some private."""
    for index in range(count):
        runtime.services.incidents.declare(
            Declaration(
                team_id=team_id,
                user_id=users[index % len(users)],
                title=f"Outage {index}",
                severity="SEV2",
                private=index % 5 == 4,
            )
        )


def _cost(runtime: Runtime, request: Callable[[], object]) -> list[str]:
    with counted_round_trips(runtime) as statements:
        request()
        assert runtime.wait_idle(15)
    return statements


def _costs_with(
    slack: SlackDriver,
    runtime: Runtime,
    people: dict[str, str],
    request: Callable[[], object],
) -> tuple[list[str], list[str]]:
    users = list(people.values())
    _open_incidents(runtime, slack.team_id, users, 1)
    one = _cost(runtime, request)
    _open_incidents(runtime, slack.team_id, users, 29)
    thirty = _cost(runtime, request)
    return one, thirty


def test_incident_list_costs_the_same_with_1_or_30_open_incidents(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: dict[str, str]
) -> None:
    def listing() -> object:
        return slack.command("list", user=people["alice"], channel="C1", wait=False)

    one, thirty = _costs_with(slack, runtime, people, listing)
    assert len(thirty) == len(one), "\n".join(thirty)
    assert len(one) <= 8, "\n".join(one)
    listed = emulator.responses[-1].payload["text"]
    assert "Outage 28" in listed and "Outage 0" in listed


def test_app_home_costs_the_same_with_1_or_30_open_incidents(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: dict[str, str]
) -> None:
    def home() -> object:
        opened = {"type": "app_home_opened", "user": people["alice"], "tab": "home"}
        return slack.event(opened, wait=False)

    one, thirty = _costs_with(slack, runtime, people, home)
    assert len(thirty) == len(one), "\n".join(thirty)
    assert "Outage 28" in str(emulator.home_view(people["alice"]))
