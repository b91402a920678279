"""Time and peak memory of the insight report over a generated history.

    python -m benchmarks.insight [--incidents 10000] [--filler-events 0] [--database-url URL]

The history (tests/support/history.py) has skewed durations, alerts on 60% of incidents,
roles, updates, reminders and action items, declared across 240 days; the report covers the
last 90 days (and reads the 90 before, for the comparison, and 30 more for repeats).
`--filler-events N` adds N notes per incident, which the report must skip over. Given a
`--database-url` that already holds incidents, the benchmark reports on those. Each phase
is timed on its own: loading, computing the figures, and writing each format (the charts
are drawn for Markdown and HTML). Peak memory is Python's allocations (tracemalloc), taken
on a second run of each step.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select

from app.config import Settings, load_settings
from app.insight.charts import render_charts
from app.insight.figures import REPEAT_WINDOW, Period, build_insight
from app.insight.loader import load_incidents
from app.insight.report import write_report
from app.store.database import Database
from app.store.models import Incident
from tests.support.history import generate_history

NOW = datetime(2026, 6, 1, tzinfo=UTC)
T = TypeVar("T")


def measured(step: Callable[[], T]) -> tuple[T, float, float]:
    """The result, seconds, and peak MiB of Python allocations.

    Timed on a first run; tracemalloc slows Python down, so memory comes from a second.
    """
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def run(url: str, incidents: int, filler: int, out: Path) -> list[tuple[str, float, float]]:
    db = Database(url)
    db.migrate()
    if not _has_incidents(db):
        started = time.perf_counter()
        generate_history(
            db, incidents, start=NOW - timedelta(days=240), days=240, filler_events=filler, now=NOW
        )
        print(f"generated {incidents} incidents in {time.perf_counter() - started:.0f} s")
    settings = load_settings(database_url=url)
    period = Period(NOW - timedelta(days=90), NOW)
    rows: list[tuple[str, float, float]] = []
    records, seconds, peak = measured(
        lambda: load_incidents(
            db, period.previous.since - REPEAT_WINDOW, period.until, details_since=period.since
        )
    )
    rows.append((f"load ({len(records)} incidents)", seconds, peak))
    insight, seconds, peak = measured(
        lambda: build_insight(
            records,
            period,
            now=NOW,
            severities=settings.severity_names,
            cadences={s.name: s.update_minutes for s in settings.severities},
        )
    )
    rows.append((f"figures ({insight.incident_count} in the period)", seconds, peak))
    for fmt in ("json", "markdown", "html"):

        def write(fmt: str = fmt) -> list[Path]:
            return write_report(insight, fmt, out / fmt, str)

        _, seconds, peak = measured(write)
        rows.append((f"write {fmt}", seconds, peak))
    rows.append(stats_row(db, settings))
    db.dispose()
    return rows


def stats_row(db: Database, settings: Settings) -> tuple[str, float, float]:
    """What `/incident stats` does before its Slack calls: 30 days, figures, three charts."""
    period = Period(NOW - timedelta(days=30), NOW)

    def stats() -> dict[str, bytes]:
        records = load_incidents(
            db, period.previous.since - REPEAT_WINDOW, NOW, details_since=period.since
        )
        insight = build_insight(
            records,
            period,
            now=NOW,
            severities=settings.severity_names,
            cadences={s.name: s.update_minutes for s in settings.severities},
        )
        return render_charts(insight, str)

    _, seconds, peak = measured(stats)
    return ("/incident stats 30d without Slack (load, figures, charts)", seconds, peak)


def _has_incidents(db: Database) -> bool:
    with db.session() as session:
        return bool(session.execute(select(func.count()).select_from(Incident)).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--filler-events", type=int, default=0)
    parser.add_argument(
        "--database-url",
        help="a migrated database; generated into when empty (default: temporary SQLite)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/insight.db"
        rows = run(url, args.incidents, args.filler_events, Path(scratch))
    print(f"\nincidents={args.incidents} filler_events={args.filler_events} database={url[:10]}")
    print("| step | seconds | peak MiB |")
    print("|---|---:|---:|")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} | {peak:.1f} |")
    total = sum(seconds for _, seconds, _ in rows[:2]) + max(s for _, s, _ in rows[2:5])
    print(f"| load + figures + slowest format | {total:.2f} | |")


if __name__ == "__main__":
    main()
