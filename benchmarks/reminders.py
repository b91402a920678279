"""How late do reminders fire, and what does an idle scheduler cost?

For each size, that many open incidents get a reminder coming due at a steady rate; the
real background scheduler (leader election, APScheduler jobs in the database, the sweep)
sends them to the Slack emulator, which answers every call after `--latency` seconds.
Lateness is the emulator's message timestamp minus the reminder's due time. Idle CPU is
the process's CPU time over `--idle` seconds once everything was sent, as a share of one
core.

    python -m benchmarks.reminders                   # 1,000 incidents, well under two minutes
    python -m benchmarks.reminders --sizes 1000 10000
    python -m benchmarks.reminders --sizes 500 --database sqlite

PostgreSQL (127.0.0.1:5432 or FIREBREAK_BENCH_POSTGRES_URL) is used when reachable.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from app.config import LogFormat, Settings
from app.incidents.reminders import ReminderService
from app.logging import configure_logging
from app.scheduler import ReminderJobs, ReminderScheduler
from app.scheduler.leader import LeaderElection
from app.slack.outbound.gateway import SlackGateway, create_web_client
from app.slack.outbound.workspace import SlackWorkspace
from app.store.database import Database
from app.store.models import Incident, ReminderState
from emulator import SlackEmulator
from tests.support.databases import scratch_postgres, scratch_sqlite

POSTGRES_URL = os.environ.get(
    "FIREBREAK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


REMINDER_MARK = ":alarm_clock:"
SECONDS_PER_JOB = 0.008  # head room for writing one job before the first comes due


class RemoteEmulator:
    """The Slack emulator in a process of its own, so its work does not share our GIL
    (Slack is remote too). Asked for seeding and results over a pipe."""

    def __init__(self, latency: float) -> None:
        self._pipe, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=_serve_emulator, args=(child, latency), daemon=True
        )
        self._process.start()
        info = self._pipe.recv()
        self.api_url: str = info["api_url"]
        self.bot_token: str = info["bot_token"]
        self.team_id: str = info["team_id"]
        self.bot_user_id: str = info["bot_user_id"]
        self.alice: str = info["alice"]

    def ask(self, request: str, *args: Any) -> Any:
        self._pipe.send((request, args))
        return self._pipe.recv()

    def close(self) -> None:
        self.ask("stop")
        self._process.join(timeout=10)


def _serve_emulator(pipe: Connection, latency: float) -> None:
    with SlackEmulator() as emulator:
        pipe.send(
            {
                "api_url": emulator.api_url,
                "bot_token": emulator.bot_token,
                "team_id": emulator.team_id,
                "bot_user_id": emulator.bot_user_id,
                "alice": emulator.user_by_name("alice").id,
            }
        )
        while True:
            request, args = pipe.recv()
            if request == "stop":
                pipe.send(None)
                return
            if request == "channels":
                members = [emulator.user_by_name("alice").id, emulator.bot_user_id]
                pipe.send([emulator.add_channel(name, members=members) for name in args[0]])
            elif request == "latency":
                emulator.latency = float(args[0])
                pipe.send(None)
            elif request == "reminders":
                pipe.send(
                    [
                        (str(call.args.get("channel")), call.at)
                        for call in emulator.calls_to("chat.postMessage")
                        if call.ok and REMINDER_MARK in str(call.args.get("text", ""))
                    ]
                )


@dataclass
class Result:
    size: int
    database: str
    workers: int
    schedule_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    sent: int
    idle_cpu_pct: float


def _postgres_reachable() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        url = make_url(POSTGRES_URL)
        return probe.connect_ex((url.host or "127.0.0.1", url.port or 5432)) == 0


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with scratch_sqlite(prefix="firebreak-bench-") as url:
            yield url
    else:
        with scratch_postgres(POSTGRES_URL, prefix="firebreak_bench") as url:
            yield url


def _seed(db: Database, emulator: RemoteEmulator, size: int) -> dict[str, int]:
    """Open incidents with channels the bot is in; returns channel id -> incident id."""
    alice = emulator.alice
    channels = emulator.ask("channels", [f"inc-{n}-bench" for n in range(1, size + 1)])
    now = datetime.now(UTC)
    rows = [
        {
            "team_id": emulator.team_id,
            "number": n,
            "title": f"Bench {n}",
            "summary": "",
            "severity": "SEV1",
            "highest_severity": "SEV1",
            "status": "investigating",
            "is_private": False,
            "declared_by": alice,
            "declared_at": now,
            "updated_at": now,
            "channel_id": channel,
            "channel_name": f"inc-{n}-bench",
            "setup_steps": [],
            "setup_complete": True,
        }
        for n, channel in enumerate(channels, start=1)
    ]
    with db.session() as session:
        session.execute(insert(Incident), rows)
    with db.engine.connect() as connection:
        ids: dict[Any, Any] = dict(
            connection.execute(text("SELECT channel_id, id FROM incident")).all()
        )
    return {str(channel): int(incident_id) for channel, incident_id in ids.items()}


def run(size: int, kind: str, latency: float, rate: float, workers: int, idle: float) -> Result:
    emulator = RemoteEmulator(latency=0.0)
    with _database(kind) as url:
        settings = Settings(
            _env_file=None,
            slack_bot_token=emulator.bot_token,
            slack_api_url=emulator.api_url,
            database_url=url,
        )
        db = Database(url, **({} if kind == "sqlite" else {"pool_size": workers + 8}))
        db.migrate()
        incident_of = _seed(db, emulator, size)
        slack = SlackGateway(create_web_client(emulator.bot_token, emulator.api_url))
        jobs = ReminderJobs(db.engine, workers=1 if kind == "sqlite" else workers)
        reminders = ReminderService(settings, db, SlackWorkspace(slack, settings), schedule=jobs)
        scheduler = ReminderScheduler(jobs, reminders, db.engine)
        emulator.ask("latency", latency)
        # Another "replica" leads while the jobs are written, as when the incidents were
        # declared over time; then it steps down and this scheduler takes over.
        other_leader = LeaderElection(db.engine)
        other_leader.try_acquire()
        scheduler.start()
        try:
            return _measure(
                size, kind, db, emulator, scheduler, other_leader, incident_of, rate, idle
            )
        finally:
            scheduler.stop()
            db.dispose()
            emulator.close()


def _measure(
    size: int,
    kind: str,
    db: Database,
    emulator: RemoteEmulator,
    scheduler: ReminderScheduler,
    other_leader: LeaderElection,
    incident_of: dict[str, int],
    rate: float,
    idle: float,
) -> Result:
    # Jobs are written first (as declaring would), then come due at `rate` per second.
    first_due = datetime.now(UTC) + timedelta(seconds=5 + size * SECONDS_PER_JOB)
    due = {
        incident_id: first_due + timedelta(seconds=index / rate)
        for index, incident_id in enumerate(sorted(incident_of.values()))
    }
    with db.session() as session:
        session.execute(
            insert(ReminderState),
            [{"incident_id": i, "next_due_at": when, "sent_count": 0} for i, when in due.items()],
        )
    started = time.perf_counter()
    for incident_id, when in due.items():
        scheduler.jobs.schedule(incident_id, when)
    schedule_s = time.perf_counter() - started
    other_leader.release()
    if datetime.now(UTC) > first_due:
        print(f"warning: writing jobs took {schedule_s:.0f} s, past the first due time")
    deadline = time.monotonic() + (max(due.values()) - datetime.now(UTC)).total_seconds() + 120
    while len(emulator.ask("reminders")) < size and time.monotonic() < deadline:
        time.sleep(0.5)
    posts = emulator.ask("reminders")
    first_post: dict[str, float] = {}
    for channel, at in posts:
        first_post.setdefault(channel, at)
    lateness = [at - due[incident_of[channel]].timestamp() for channel, at in first_post.items()]
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    time.sleep(idle)
    idle_cpu = (time.process_time() - cpu_before) / (time.perf_counter() - wall_before)
    ordered = sorted(lateness) or [float("nan")]
    return Result(
        size=size,
        database=kind,
        workers=scheduler.workers,
        schedule_s=schedule_s,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        max_ms=ordered[-1] * 1000,
        sent=len(posts),
        idle_cpu_pct=idle_cpu * 100,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--database", choices=["auto", "postgres", "sqlite"], default="auto")
    parser.add_argument("--latency", type=float, default=0.05, help="emulator seconds per call")
    parser.add_argument("--rate", type=float, default=50, help="reminders coming due per second")
    parser.add_argument("--workers", type=int, default=32, help="sending threads (PostgreSQL)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle to measure")
    options = parser.parse_args()
    configure_logging(LogFormat.CONSOLE, "WARNING", [])
    kind = options.database
    if kind == "auto":
        kind = "postgres" if _postgres_reachable() else "sqlite"
    header = (
        f"{'incidents':>9} {'db':>8} {'workers':>7} {'schedule s':>10} {'sent':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'idle CPU %':>10}"
    )
    print(f"emulator latency {options.latency * 1000:.0f} ms/call, {options.rate:.0f} due/s")
    print(header)
    print("-" * len(header))
    for size in options.sizes:
        r = run(size, kind, options.latency, options.rate, options.workers, options.idle)
        print(
            f"{r.size:>9,} {r.database:>8} {r.workers:>7} {r.schedule_s:>10.1f} {r.sent:>6} "
            f"{r.p50_ms:>8.0f} {r.p99_ms:>8.0f} {r.max_ms:>8.0f} {r.idle_cpu_pct:>10.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
