"""The status page under a flood of readers, next to Slack's requests in the same process.

`python -m benchmarks.status_page` — the ack benchmark's Slack mix alone, then the same
mix again while readers GET `/status` at a fixed rate (half of them revalidating with
`If-None-Match`, answered 304) from a process of their own. The tables give the status
page's latency and the Slack acks' latency with and without the readers: the readers
should cost Slack nothing noticeable.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

from app.config import Settings
from app.statuspage.pages import StatusPages
from app.store.models import StakeholderUpdate
from app.store.types import utcnow
from benchmarks.ack_latency import DEFAULT_MIX, _body_maker, _seed, parse_mix, run_load
from benchmarks.harness import (
    Firebreak,
    Timed,
    common_arguments,
    firebreak,
    print_parameters,
    print_table,
    summary_ms,
)


def _publish(app: Firebreak, incidents: list[tuple[int, str, str]], updates: int) -> None:
    """Public updates on the seeded incidents, so the page has something to render."""
    with app.db.session() as session:
        for incident_id, _, user in incidents:
            for number in range(updates):
                session.add(
                    StakeholderUpdate(
                        incident_id=incident_id,
                        status="investigating",
                        severity="SEV2",
                        what_we_know=f"Update {number}: card payments fail for some customers.",
                        what_we_are_doing="Rolling back the release.",
                        next_update_minutes=30,
                        posted_by=user,
                        posted_at=utcnow(),
                        public=True,
                    )
                )


def _get(connection: http.client.HTTPConnection, etag: str | None) -> tuple[int, str]:
    connection.request("GET", "/status", headers={"If-None-Match": etag} if etag else {})
    response = connection.getresponse()
    response.read()
    return response.status, response.getheader("ETag") or ""


def _readers(base_url: str, rate: float, seconds: float, threads: int, conn: Connection) -> None:
    """Reader process: request i is due at start + i / rate (open loop), on persistent
    connections; every other request revalidates with the ETag last seen."""
    conn.send("ready")
    start = float(conn.recv())
    total = int(rate * seconds)
    address = urlsplit(base_url)
    results: list[Timed] = []
    lock = threading.Lock()

    def reader(first: int) -> None:
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        etag = ""
        for index in range(first, total, threads):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            clock = time.perf_counter()
            try:
                status, seen = _get(connection, etag if index % 2 else None)
                etag = seen or etag
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            elapsed = time.perf_counter() - clock
            with lock:
                results.append(Timed("status", status, elapsed, due))
        connection.close()

    workers = [threading.Thread(target=reader, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    conn.send(results)


def _with_readers(
    app: Firebreak, options: argparse.Namespace, incidents: list[tuple[int, str, str]]
) -> tuple[list[Timed], list[Timed]]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=_readers,
        args=(app.base_url, options.readers_rate, options.seconds, options.reader_threads, child),
    )
    process.start()
    parent.recv()  # its imports done, so it does not start late and send a burst
    # run_load starts its first request 3 s after it is called; the readers start with it.
    parent.send(time.monotonic() + 3.0)
    slack, _ = run_load(
        [app.url],
        _body_maker(app, incidents, options.mix),
        options.responders,
        options.rate,
        options.seconds,
    )
    readers = list(parent.recv())
    process.join(timeout=30)
    return slack, readers


def _in_process(app: Firebreak, repeat: int = 20_000) -> list[list[object]]:
    """What one reader costs inside Firebreak, without the network: microseconds per call."""
    settings = Settings(_env_file=None, database_url=app.database_url, status_page=True)
    pages = StatusPages(settings, app.db)
    pages.ttl = 3600.0  # served from memory, as between two changes
    started = time.perf_counter()
    pages.page("/status")
    build = time.perf_counter() - started
    etag = pages.page("/status").etag  # type: ignore[union-attr]

    def per_call(environ: dict[str, str]) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            pages(environ, lambda status, headers: None)  # type: ignore[arg-type]
        return (time.perf_counter() - started) / repeat * 1e6

    fresh = per_call({"PATH_INFO": "/status", "REQUEST_METHOD": "GET"})
    cached = per_call({"PATH_INFO": "/status", "REQUEST_METHOD": "GET", "HTTP_IF_NONE_MATCH": etag})
    return [
        ["build (database read + render)", f"{build * 1000:.1f} ms"],
        ["200 from memory", f"{fresh:.1f} µs"],
        ["304 (If-None-Match)", f"{cached:.1f} µs"],
    ]


def _row(name: str, results: list[Timed], ok: tuple[int, ...] = (200,)) -> list[object]:
    p50, p95, p99, worst, _ = summary_ms([r.seconds for r in results if r.status in ok])
    errors = sum(1 for r in results if r.status not in ok)
    return [name, len(results), p50, p95, p99, worst, errors]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.status_page", description=__doc__)
    parser.add_argument("--readers-rate", type=float, default=500.0, help="GET /status per s")
    parser.add_argument("--reader-threads", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0, help="Slack requests per second")
    parser.add_argument("--responders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--http-threads", type=int, default=8)
    parser.add_argument("--updates", type=int, default=3, help="public updates per incident")
    parser.add_argument("--mix", type=parse_mix, default=DEFAULT_MIX)
    common_arguments(parser)
    options = parser.parse_args(argv)

    settings = {"status_page": True, "status_title": "Benchmark status"}
    with firebreak(
        options.latency_ms,
        options.database_url,
        http_threads=options.http_threads,
        settings=settings,
    ) as app:
        incidents = _seed(app)
        _publish(app, incidents, options.updates)
        # Slack alone first: the run with readers then finds the larger database.
        slack_alone, _ = run_load(
            [app.url],
            _body_maker(app, incidents, options.mix),
            options.responders,
            options.rate,
            options.seconds,
        )
        app.wait_idle()
        slack_with, readers = _with_readers(app, options, incidents)
        app.wait_idle()
        load = os.getloadavg()[0]
        costs = _in_process(app)

    print_parameters(
        "Status page: readers and Slack in one process",
        {
            "command": "python -m benchmarks.status_page " + " ".join(argv or []),
            "readers": f"{options.readers_rate:g} GET /status per s for {options.seconds:g} s, "
            f"half with If-None-Match, {options.reader_threads} keep-alive connections",
            "Slack": f"{options.rate:g} requests/s ({DEFAULT_MIX}), "
            f"{options.responders} responders",
            "page": f"{len(incidents)} open public incidents, {options.updates} updates each",
            "Web API latency (emulator)": f"{options.latency_ms:g} ms per call",
            "database": options.database_url or "SQLite (temporary file)",
            "HTTP threads": options.http_threads,
        },
    )
    fresh = [r for r in readers if r.status == 200]
    revalidated = [r for r in readers if r.status == 304]
    rows = [
        _row("/status, all", readers, (200, 304)),
        _row("/status, 200 (full page)", fresh),
        _row("/status, 304 (If-None-Match)", revalidated, (304,)),
        _row("Slack acks, with readers", slack_with),
        _row("Slack acks, alone", slack_alone),
    ]
    print_table(["requests", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"], rows)
    print()
    print_table(["one /status request in Firebreak's WSGI app", "time"], costs)
    print(f"\nreader statuses: {dict(Counter(r.status for r in readers))}")
    print(f"machine load average (1 min) at the end: {load:.1f}")


if __name__ == "__main__":
    main()
