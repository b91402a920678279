"""Database throughput: declarations and timeline events per second, SQLite and PostgreSQL.

`python -m benchmarks.database` — calls IncidentService.declare (number allocation, the
incident row, its timeline events and the commander role, one transaction) and
repository.record_event (one event per transaction, as every change writes it) from 1
and 8 threads, on a temporary SQLite file and on a scratch PostgreSQL database
(127.0.0.1:5432, dropped afterwards). No Slack calls are involved.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient

from app.config import Settings
from app.incidents import repository as repo
from app.incidents.rules import Source
from app.incidents.service import Declaration, IncidentService
from app.slack.outbound.gateway import SlackGateway
from app.slack.outbound.workspace import SlackWorkspace
from app.store.database import Database
from benchmarks.harness import database, print_parameters, print_table, summary_ms

TEAM = "T0BENCH"


def timed_threads(
    work: Callable[[int], None], count: int, threads: int
) -> tuple[float, list[float]]:
    """Run work(0..count-1) spread over `threads`; (wall seconds, per-call seconds)."""
    numbers = itertools.count()
    lock = threading.Lock()
    durations: list[float] = []

    def worker() -> None:
        while True:
            with lock:
                index = next(numbers)
            if index >= count:
                return
            started = time.perf_counter()
            work(index)
            elapsed = time.perf_counter() - started
            with lock:
                durations.append(elapsed)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, durations


def measure(url: str, label: str, count: int, thread_counts: list[int]) -> list[list[object]]:
    settings = Settings(_env_file=None, database_url=url)
    db = Database(settings.database_url)
    db.migrate()
    # declare() never calls Slack; the gateway only satisfies the constructor.
    gateway = SlackGateway(WebClient(base_url="http://127.0.0.1:9/"))
    service = IncidentService(settings, db, SlackWorkspace(gateway, settings))
    rows: list[list[object]] = []
    try:
        for threads in thread_counts:
            declare = functools.partial(_declare, service, threads)
            seconds, durations = timed_threads(declare, count, threads)
            rows.append(_row(label, "declare (incidents/s)", threads, count, seconds, durations))
        incident = service.declare(Declaration(TEAM, "U0BENCH", "Timeline target", "SEV3"))
        assert incident is not None
        for threads in thread_counts:
            seconds, durations = timed_threads(
                lambda n: _record(db, incident.id, n), count * 2, threads
            )
            rows.append(
                _row(label, "timeline event (events/s)", threads, count * 2, seconds, durations)
            )
    finally:
        db.dispose()
    return rows


def _declare(service: IncidentService, run: int, n: int) -> None:
    title = f"Benchmark incident {run}-{n}"
    service.declare(Declaration(TEAM, "U0BENCH", title, "SEV2", summary="benchmark"))


def _record(db: Database, incident_id: int, n: int) -> None:
    with db.session() as session:
        repo.record_event(
            session,
            incident_id,
            "note",
            source=Source.COMMAND,
            actor_id="U0BENCH",
            text=f"Timeline note {n}",
            data={"n": n},
        )


def _row(
    label: str, operation: str, threads: int, count: int, seconds: float, durations: list[float]
) -> list[object]:
    p50, _p95, p99, _worst, _ = summary_ms(durations)
    return [label, operation, threads, count, seconds, count / seconds, p50, p99]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.database", description=__doc__)
    parser.add_argument("--count", type=int, default=500, help="declarations per run")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    options = parser.parse_args(argv)

    rows: list[list[object]] = []
    for backend in options.backends:
        with database(backend) as url:
            rows.extend(measure(url, backend, options.count, options.threads))

    print_parameters(
        "Database: declarations and timeline events per second",
        {
            "command": "python -m benchmarks.database " + " ".join(argv or []),
            "declarations per run": options.count,
            "timeline events per run": options.count * 2,
            "sqlite": "temporary file, WAL, synchronous=FULL (the default)",
            "postgres": "scratch database on 127.0.0.1:5432, dropped afterwards",
        },
    )
    print_table(
        ["database", "operation", "threads", "count", "seconds", "per second", "p50 ms", "p99 ms"],
        rows,
    )


if __name__ == "__main__":
    main()
