"""An alert storm: Alertmanager notifications at a steady rate, Slack 50 ms away.

    python -m benchmarks.alerts [--notifications 10000] [--seconds 60] [--alerts 500]
        [--groups 40] [--resolving 0.1] [--databases sqlite,postgres] [--latency-ms 50]

Alertmanager re-sends a whole group each time: every notification here carries one
group's alerts as they stand at that moment. Alerts appear over the first half of the
storm (so groups grow and their messages need edits) and 10% resolve in the last quarter.
Reported per database: intake response time (p50/p99, measured by the sender), Slack
messages posted and edited (the coalescing: edits per group against notifications per
group), the busiest second's chat calls on the channel, and alerts stored against distinct
alerts sent (must be equal: nothing lost, nothing doubled).
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.store.models import Alert, AlertGroup
from benchmarks.harness import Firebreak, firebreak, percentile, print_parameters, print_table

TOKEN = "benchmark-alerts-token-0123456789"
CHANNEL = "alerts"
START = "2026-12-04T10:00:00Z"


@dataclass(frozen=True)
class Storm:
    notifications: int
    seconds: float
    alerts: int
    groups: int
    resolving: float

    def members(self, group: int) -> list[int]:
        return [a for a in range(self.alerts) if a % self.groups == group]

    def resolves(self, alert: int) -> bool:
        return alert % round(1 / self.resolving) == 0 if self.resolving else False

    def payload(self, index: int) -> dict[str, Any]:
        """Notification `index`: one group, as it stands at that point of the storm."""
        group = index % self.groups
        progress = index / max(1, self.notifications - 1)
        members = self.members(group)
        shown = members[: max(1, math.ceil(len(members) * min(1.0, progress * 2)))]
        alerts = []
        for alert in shown:
            resolved = self.resolves(alert) and progress >= 0.75
            alerts.append(
                {
                    "status": "resolved" if resolved else "firing",
                    "labels": {
                        "alertname": f"Storm{group}",
                        "instance": f"host-{alert}",
                        "severity": "warning",
                    },
                    "annotations": {"summary": f"Storm{group} on host-{alert}"},
                    "startsAt": START,
                    "endsAt": "2026-12-04T11:00:00Z" if resolved else "0001-01-01T00:00:00Z",
                    "fingerprint": f"storm-{alert}",
                }
            )
        return {
            "version": "4",
            "receiver": "firebreak",
            "status": "firing",
            "groupKey": f'{{}}:{{alertname="Storm{group}"}}',
            "groupLabels": {"alertname": f"Storm{group}"},
            "commonLabels": {"alertname": f"Storm{group}"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.com",
            "alerts": alerts,
        }


def post(url: str, body: bytes) -> tuple[int, float]:
    request = urllib.request.Request(  # noqa: S310 - only ever 127.0.0.1
        url,
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            response.read()
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def run_storm(app: Firebreak, storm: Storm, senders: int) -> list[tuple[int, float]]:
    """Open loop: notification i leaves at i * (seconds / notifications), whatever came back."""
    url = app.url.replace("/slack/events", "/alerts/alertmanager")
    bodies = [json.dumps(storm.payload(i)).encode() for i in range(storm.notifications)]
    step = storm.seconds / storm.notifications
    begin = time.perf_counter() + 0.5
    lock = threading.Lock()
    results: list[tuple[int, float]] = []

    def send(index: int) -> None:
        delay = begin + index * step - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        outcome = post(url, bodies[index])
        with lock:
            results.append(outcome)

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, range(storm.notifications)))
    return results


def busiest_second(app: Firebreak, channel: str) -> int:
    seconds = Counter(
        int(call.at)
        for call in app.emu.calls
        if call.method in ("chat.postMessage", "chat.update")
        and call.args.get("channel") == channel
    )
    return max(seconds.values(), default=0)


def measure(database: str, storm: Storm, latency_ms: float, senders: int) -> list[object]:
    settings = {"alerts_token": TOKEN, "alerts_channel": CHANNEL, "http_threads": 16}
    with firebreak(latency_ms, database, http_threads=16, settings=settings) as app:
        channel = app.emu.add_channel(CHANNEL, members=app.users)
        started = time.perf_counter()
        results = run_storm(app, storm, senders)
        sent_for = time.perf_counter() - started
        assert app.alerts_idle(), "alert messages still behind after 600 s"
        drained = time.perf_counter() - started - sent_for
        with app.db.session() as session:
            stored = session.execute(select(func.count()).select_from(Alert)).scalar_one()
            posts, edits = session.execute(
                select(func.sum(AlertGroup.post_count), func.sum(AlertGroup.edit_count))
            ).one()
        slack_posts = len(app.emu.calls_to("chat.postMessage"))
        slack_edits = len(app.emu.calls_to("chat.update"))
        peak = busiest_second(app, channel)
    seconds = [s for _, s in results]
    errors = sum(1 for status, _ in results if status != 200)
    per_group = storm.notifications / storm.groups
    return [
        "PostgreSQL" if database.startswith("postg") else "SQLite",
        len(results),
        round(len(results) / sent_for, 1),
        round(percentile(seconds, 0.5) * 1000, 1),
        round(percentile(seconds, 0.99) * 1000, 1),
        errors,
        storm.alerts,
        stored,
        f"{slack_posts} ({posts})",
        f"{slack_edits} ({edits})",
        f"{(slack_posts + slack_edits) / storm.groups:.1f} / {per_group:.0f}",
        peak,
        round(drained, 1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--groups", type=int, default=40)
    parser.add_argument("--resolving", type=float, default=0.1)
    parser.add_argument("--senders", type=int, default=32, help="sending threads")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    storm = Storm(args.notifications, args.seconds, args.alerts, args.groups, args.resolving)
    print_parameters(
        "Alert storm",
        {
            "notifications": f"{storm.notifications} in {storm.seconds:.0f} s",
            "distinct alerts": f"{storm.alerts} in {storm.groups} groups, "
            f"{storm.resolving:.0%} resolving",
            "Slack latency": f"{args.latency_ms:.0f} ms per Web API call",
            "senders": args.senders,
        },
    )
    rows = [
        measure(name, storm, args.latency_ms, args.senders) for name in args.databases.split(",")
    ]
    print_table(
        [
            "database",
            "sent",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "distinct",
            "stored",
            "posts",
            "edits",
            "calls/group vs sends/group",
            "peak calls/s",
            "drain s",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
