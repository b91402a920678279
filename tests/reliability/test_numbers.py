"""Declarations made at the same moment get the numbers 1..N, each once."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlmodel import col

from app.incidents.service import Declaration
from app.runtime import Runtime
from app.store.models import Incident

THREADS = 8
EACH = 4


def test_concurrent_declarations_are_numbered_without_gaps_or_repeats(
    runtime: Runtime, people: dict[str, str]
) -> None:
    declared: list[tuple[int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def declare_some(worker: int) -> None:
        start.wait()
        for n in range(EACH):
            snapshot = runtime.services.incidents.declare(
                Declaration(
                    team_id="T1",
                    user_id=people["alice"],
                    title=f"Outage {worker}.{n}",
                    severity="SEV2",
                )
            )
            assert snapshot is not None
            with lock:
                declared.append((snapshot.id, snapshot.number))

    threads = [threading.Thread(target=declare_some, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with runtime.db.session() as session:
        stored = dict(session.execute(select(col(Incident.id), col(Incident.number))).all())
    assert sorted(number for _id, number in declared) == list(range(1, THREADS * EACH + 1))
    assert stored == dict(declared)
