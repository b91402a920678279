"""The status page under a flood of readers, next to Slack's requests in the same process.

`python -m benchmarks.status_page` — readers GET `/status` at a fixed rate (half of them
revalidating with `If-None-Match`, answered 304) while the ack benchmark's Slack mix runs
against the same Firebreak; then the same Slack mix alone. The tables give the status
page's latency and the Slack acks' latency with and without the readers: the readers
should cost Slack nothing noticeable.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import threading
import time
from collections import Counter
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

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
    # run_load starts its first request 3 s after it is called; the readers start with it.
    parent.send(time.monotonic() + 3.0)
    slack, _ = run_load(
        app.url,
        _body_maker(app, incidents, options.mix),
        options.responders,
        options.rate,
        options.seconds,
    )
    readers = list(parent.recv())
    process.join(timeout=30)
    return slack, readers


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
        slack_with, readers = _with_readers(app, options, incidents)
        app.wait_idle()
        slack_alone, _ = run_load(
            app.url,
            _body_maker(app, incidents, options.mix),
            options.responders,
            options.rate,
            options.seconds,
        )
        app.wait_idle()

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
    print(f"\nreader statuses: {dict(Counter(r.status for r in readers))}")


if __name__ == "__main__":
    main()
