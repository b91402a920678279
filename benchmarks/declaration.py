"""What one declaration costs in Slack calls, and how soon its channel is ready.

`python -m benchmarks.declaration` — declares incidents through the modal (signed view
submissions over HTTP), 1, 10 and 50 at once, and reads the emulator's call log: Web API
calls per incident by method, and the time from the submit to the channel being ready
(card pinned and the incident announced), p50/p99.
"""

from __future__ import annotations

import argparse
import threading
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from app.store.models import Incident
from benchmarks.harness import (
    Firebreak,
    Timed,
    common_arguments,
    firebreak,
    print_parameters,
    print_table,
    summary_ms,
)
from emulator import Call


def declare_at_once(app: Firebreak, titles: Sequence[str]) -> dict[str, Timed]:
    """Submit one declaration modal per title, all at the same moment."""
    sent: dict[str, Timed] = {}
    barrier = threading.Barrier(len(titles))

    def submit(title: str, user: str) -> None:
        body = app.declare_body(title, user)
        barrier.wait()
        sent[title] = app.post("submission", body)

    threads = [
        threading.Thread(target=submit, args=(title, app.users[i % len(app.users)]))
        for i, title in enumerate(titles)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    app.wait_idle()
    return sent


def ready_seconds(
    app: Firebreak, sent: dict[str, Timed], calls: list[Call]
) -> tuple[list[float], int]:
    """Seconds from each submit to its card pinned and announcement posted; and how many
    incidents never got there."""
    latency = app.emu.latency
    with app.db.session() as session:
        rows = session.execute(
            select(col(Incident.title), col(Incident.channel_id), col(Incident.announcement_ts))
        ).all()
    pinned = {
        str(c.args.get("channel")): c.at + latency for c in calls if c.ok and c.method == "pins.add"
    }
    seconds: list[float] = []
    missing = 0
    for title, channel, announced in rows:
        if title not in sent:
            continue
        if channel not in pinned or announced is None:
            missing += 1
            continue
        seconds.append(max(pinned[channel], float(announced)) - sent[title].started)
    return seconds, missing


def call_timeline(calls: list[Call], started: float, latency: float) -> list[list[object]]:
    """When each call of one declaration ran, relative to the submit."""
    rows: list[list[object]] = []
    for call in sorted(calls, key=lambda c: c.at):
        begin = (call.at - started) * 1000
        rows.append([call.method, begin, begin + latency * 1000])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.declaration", description=__doc__)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 10, 50], help="declarations at once"
    )
    common_arguments(parser)
    options = parser.parse_args(argv)

    results: list[tuple[int, Counter[str], list[float], int]] = []
    timeline: list[list[object]] = []
    first: Counter[str] = Counter()
    with firebreak(options.latency_ms, options.database_url) as app:
        # The first declaration in a process also finds and joins #incidents (cached after).
        app.emu.reset_calls()
        declare_at_once(app, ["Warm-up incident"])
        first = Counter(c.method for c in app.emu.calls)
        for level in options.concurrency:
            app.emu.reset_calls()
            titles = [f"Declared {level} at once {n}" for n in range(level)]
            sent = declare_at_once(app, titles)
            calls = list(app.emu.calls)
            seconds, missing = ready_seconds(app, sent, calls)
            results.append((level, Counter(c.method for c in calls), seconds, missing))
            if level == 1:
                timeline = call_timeline(calls, next(iter(sent.values())).started, app.emu.latency)

    print_parameters(
        "Declaration: Web API calls per incident and time to a ready channel",
        {
            "command": "python -m benchmarks.declaration " + " ".join(argv or []),
            "Web API latency (emulator)": f"{options.latency_ms:g} ms per call",
            "database": options.database_url or "SQLite (temporary file)",
            "ready": "card pinned in the new channel and the incident announced in #incidents",
        },
    )
    methods = sorted({m for _, counts, _, _ in results for m in counts} | set(first))
    headers = ["method", "first in process", *[f"{level} at once" for level, *_ in results]]
    rows: list[list[object]] = [
        [method, first[method], *[f"{counts[method] / level:g}" for level, counts, _, _ in results]]
        for method in methods
    ]
    rows.append(
        [
            "total per incident",
            sum(first.values()),
            *[f"{sum(counts.values()) / level:g}" for level, counts, _, _ in results],
        ]
    )
    print_table(headers, rows)
    print()
    ready_rows: list[list[object]] = []
    for level, _, seconds, missing in results:
        p50, _p95, p99, worst, _ = summary_ms(seconds)
        ready_rows.append([level, len(seconds), missing, p50, p99, worst])
    print_table(
        ["at once", "ready", "not ready", "p50 ms to ready", "p99 ms to ready", "max ms"],
        ready_rows,
    )
    if timeline:
        print("\nOne declaration's Web API calls (ms after the submit; overlapping = parallel):")
        print_table(["method", "sent at ms", "answered at ms"], timeline)


if __name__ == "__main__":
    main()
