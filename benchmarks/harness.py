"""Shared setup for the benchmarks: a Slack emulator, a Firebreak server, signed requests.

Firebreak runs in a child process of its own (as it would in production, where Slack's
side is not on our machine), so the load generator and the emulator in this process do
not compete with it for the interpreter lock. The emulator stands in for Slack's network
with a fixed per-call latency (`emu.latency`).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from app.store.database import Database
from emulator import SlackEmulator, payloads
from emulator.signing import signed_headers
from tests.support.databases import scratch_postgres, scratch_sqlite

SIGNING_SECRET = "benchmark-signing-secret-0123456789"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FORM = "application/x-www-form-urlencoded"
DEFAULT_LATENCY_MS = 50.0
ANNOUNCE_CHANNEL = "incidents"


# ---------------------------------------------------------------- printing


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def print_parameters(title: str, parameters: dict[str, object]) -> None:
    print(f"# {title}")
    print(f"machine: {machine()}")
    for name, value in parameters.items():
        print(f"{name}: {value}")
    print()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\n".join(lines))


def _cell(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> tuple[float, float, float, float, float]:
    """(p50, p95, p99, max, mean) in milliseconds."""
    ms = [s * 1000 for s in seconds]
    if not ms:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    return (
        percentile(ms, 0.50),
        percentile(ms, 0.95),
        percentile(ms, 0.99),
        max(ms),
        statistics.fmean(ms),
    )


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULT_LATENCY_MS,
        help="time the emulator takes to answer each Web API call (stands in for Slack)",
    )
    parser.add_argument(
        "--database-url",
        "--database",
        dest="database_url",
        default=None,
        help="database to run on: a temporary SQLite file unless given; 'postgresql' makes "
        "a scratch database on 127.0.0.1:5432 and drops it afterwards",
    )


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    """`None` -> temporary SQLite, 'postgres' -> scratch PostgreSQL, else the URL as given."""
    if url is None or url == "sqlite":
        with scratch_sqlite(prefix="firebreak-bench-") as sqlite_url:
            yield sqlite_url
    elif url in ("postgres", "postgresql"):
        with scratch_postgres(POSTGRES_ADMIN_URL, prefix="firebreak_bench") as postgres_url:
            yield postgres_url
    else:
        yield url


# ---------------------------------------------------------------- the server process


class _TimedApp:
    """WSGI wrapper: how long the server itself took to produce each response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.durations: list[float] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        started = time.perf_counter()
        body = list(self.app(environ, start_response))
        self.durations.append(time.perf_counter() - started)
        return body


def _serve(values: dict[str, Any], threads: int, conn: Connection) -> None:
    """Child process: run Firebreak over HTTP until the parent says stop."""
    from app.config import Settings
    from app.logging import configure_logging
    from app.runtime import build_runtime
    from app.server import HttpServer

    settings = Settings(_env_file=None, **values)
    configure_logging(settings.log_format, "ERROR", settings.secrets())
    runtime = build_runtime(settings)
    round_trips = _count_round_trips(runtime.db)
    timed = _TimedApp(runtime.web)
    server = HttpServer(timed, host="127.0.0.1", port=0, threads=threads, max_body_bytes=1 << 20)
    server.start()
    conn.send(server.url)
    while True:
        command = conn.recv()
        if command == "idle":
            conn.send(runtime.wait_idle(300))
        elif command == "alerts_idle":
            conn.send(runtime.services.alerts.wait_idle(600))
        elif command == "served":
            conn.send(list(timed.durations))
            timed.durations.clear()
        elif command == "usage":
            conn.send((round_trips[0], time.process_time()))
        elif command == "stop":
            break
    server.stop()
    runtime.close(timeout=60)
    conn.send("stopped")


def _count_round_trips(db: Database) -> list[int]:
    """Statements sent to the database by this process, every engine it uses."""
    from sqlalchemy import event

    count = [0]

    def counted(*_args: Any) -> None:
        count[0] += 1

    for engine in db.engines():
        event.listen(engine, "before_cursor_execute", counted)
    return count


@dataclass(frozen=True)
class Usage:
    """What the server processes spent: database round trips and CPU seconds."""

    round_trips: int
    cpu_seconds: float

    def __sub__(self, other: Usage) -> Usage:
        return Usage(self.round_trips - other.round_trips, self.cpu_seconds - other.cpu_seconds)


@dataclass(frozen=True)
class Timed:
    kind: str
    status: int
    seconds: float
    started: float


def send(url: str, kind: str, body: bytes, content_type: str = FORM) -> Timed:
    """POST a body signed the way Slack signs it; time until the response is read."""
    headers = signed_headers(SIGNING_SECRET, body, content_type)
    request = urllib.request.Request(  # noqa: S310 - only ever 127.0.0.1
        url, data=body, headers=headers, method="POST"
    )
    started = time.time()
    clock = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return Timed(kind, status, time.perf_counter() - clock, started)


class Firebreak:
    """A running Firebreak (child process) wired to a Slack emulator in this process."""

    def __init__(
        self,
        emu: SlackEmulator,
        database_url: str,
        *,
        http_threads: int = 8,
        replicas: int = 1,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.emu = emu
        self.settings = settings or {}
        self.database_url = database_url
        self.http_threads = http_threads
        self.replicas = replicas
        self.url = ""
        self.base_url = ""
        self.urls: list[str] = []
        self.db = Database(database_url)
        self._conns: list[Connection] = []
        self._processes: list[multiprocessing.process.BaseProcess] = []
        self.users = [emu.user_by_name(n).id for n in ("alice", "bob", "carol", "dave")]
        self.announce_channel = emu.add_channel(
            ANNOUNCE_CHANNEL, members=[*self.users, emu.bot_user_id]
        )

    def start(self) -> None:
        values = {
            "slack_bot_token": self.emu.bot_token,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": self.emu.api_url,
            "database_url": self.database_url,
            "announce_channel": ANNOUNCE_CHANNEL,
            "http_threads": self.http_threads,
            **self.settings,
        }
        context = multiprocessing.get_context("spawn")
        # One at a time: each replica migrates on start, and the first creates the schema.
        for _ in range(self.replicas):
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve, args=(values, self.http_threads, child), daemon=True
            )
            process.start()
            self._processes.append(process)
            self._conns.append(parent)
            if not parent.poll(120):
                raise RuntimeError("Firebreak did not start within 120 s")
            self.urls.append(str(parent.recv()) + "/slack/events")
        self.url = self.urls[0]
        self.base_url = self.url.removesuffix("/slack/events")

    def _ask(self, command: str) -> list[Any]:
        for conn in self._conns:
            conn.send(command)
        return [conn.recv() for conn in self._conns]

    def wait_idle(self) -> bool:
        """Block until every replica's listeners have finished their work after ack."""
        return all(bool(idle) for idle in self._ask("idle"))

    def alerts_idle(self) -> bool:
        """Block until every replica's alert messages are up to date."""
        return all(bool(idle) for idle in self._ask("alerts_idle"))

    def served(self) -> list[float]:
        """Seconds the servers spent on each request since the last call (server side)."""
        return [seconds for durations in self._ask("served") for seconds in durations]

    def usage(self) -> Usage:
        """Database round trips and CPU seconds of every replica so far."""
        answers = self._ask("usage")
        return Usage(sum(a[0] for a in answers), sum(a[1] for a in answers))

    def stop(self) -> None:
        for conn in self._conns:
            conn.send("stop")
        for conn, process in zip(self._conns, self._processes, strict=True):
            conn.poll(120)
            process.join(timeout=30)
        self.db.dispose()

    def __enter__(self) -> Firebreak:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ requests

    def post(self, kind: str, body: bytes, content_type: str = FORM) -> Timed:
        return send(self.url, kind, body, content_type)

    def command_body(
        self, text: str, user: str, channel: str, *, issued_at: float | None = None
    ) -> bytes:
        """A slash command; `issued_at`: when it is due to be sent (its trigger's start)."""
        fields = payloads.slash_command(
            team_id=self.emu.team_id,
            user_id=user,
            channel_id=channel,
            text=text,
            trigger_id=self.emu.new_trigger_id(user, issued_at=issued_at),
            response_url=self.emu.new_response_url(channel_id=channel, user_id=user),
        )
        return payloads.form_body(fields)

    def action_body(self, action: dict[str, Any], user: str, channel: str) -> bytes:
        payload = payloads.block_actions(
            team_id=self.emu.team_id,
            user_id=user,
            actions=[action],
            trigger_id=self.emu.new_trigger_id(user),
            response_url=self.emu.new_response_url(channel_id=channel, user_id=user),
            channel_id=channel,
            message={"ts": "1.000001", "text": "card"},
        )
        return payloads.interactive_body(payload)

    def declare_body(self, title: str, user: str, severity: str = "SEV2") -> bytes:
        # The modal carries the command's response_url, as when opened by `/incident`.
        metadata = self.emu.new_response_url(user_id=user)
        view = {"type": "modal", "callback_id": "declare_incident", "private_metadata": metadata}
        values: dict[str, dict[str, Any]] = {
            "title": {"value": {"type": "plain_text_input", "value": title}},
            "severity": {
                "value": {"type": "static_select", "selected_option": {"value": severity}}
            },
            "summary": {"value": {"type": "plain_text_input", "value": "benchmark"}},
            "options": {
                "value": {
                    "type": "checkboxes",
                    "selected_options": [{"value": "commander"}],
                }
            },
        }
        payload = payloads.view_submission(
            team_id=self.emu.team_id, user_id=user, view=view, values=values
        )
        return payloads.interactive_body(payload)

    def wait_for(self, done: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(poll)
        return done()


@contextlib.contextmanager
def firebreak(
    latency_ms: float,
    database_url: str | None,
    *,
    http_threads: int = 8,
    replicas: int = 1,
    settings: dict[str, Any] | None = None,
) -> Iterator[Firebreak]:
    """Emulator (with latency) + database + Firebreak server(s), torn down afterwards.

    `settings`: more `Settings` fields for the servers (e.g. pool sizes)."""
    with SlackEmulator() as emu, database(database_url) as url:
        emu.latency = latency_ms / 1000
        with Firebreak(
            emu, url, http_threads=http_threads, replicas=replicas, settings=settings
        ) as app:
            yield app
