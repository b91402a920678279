"""Export time and peak memory for incidents with 1,000 / 10,000 / 100,000 timeline events.

    python -m benchmarks.export [--sizes 1000,10000,100000] [--database-url URL]

Each size gets its own incident on a temporary SQLite database (or the given one). The
export is written to a stream that only counts bytes, so the figures are the export's
own: time, and the peak of Python allocations during it (tracemalloc). Memory should stay
flat as the timeline grows (events are streamed); time should grow linearly.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from app.export.delivery import write_export
from app.export.people import ids_only
from app.store.database import Database
from app.store.models import Incident, TimelineEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5000


class CountingStream:
    """A text stream that keeps nothing: it only counts what is written."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def seed(db: Database, number: int, events: int) -> int:
    with db.session() as session:
        incident = Incident(
            team_id="TBENCH",
            number=number,
            title=f"Benchmark incident with {events} events",
            severity="SEV2",
            highest_severity="SEV1",
            status="resolved",
            declared_by="UBENCH",
            declared_at=T0,
            resolved_at=T0 + timedelta(seconds=events),
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        incident_id = incident.id
    kinds = ("note", "message_pinned", "status_changed", "role_assigned")
    with db.engine.begin() as connection:
        for start in range(0, events, BATCH):
            rows = [
                {
                    "incident_id": incident_id,
                    "occurred_at": T0 + timedelta(seconds=i),
                    "recorded_at": T0 + timedelta(seconds=i),
                    "kind": kinds[i % len(kinds)],
                    "source": "command",
                    "actor_id": f"U{i % 50:08d}",
                    "text": f"Event {i}: error rate on eu-west is {i % 97}% | checking the gateway",
                    "data": {"n": i},
                    "message_ts": f"{1767225600 + i}.000100" if i % 4 == 1 else None,
                }
                for i in range(start, min(start + BATCH, events))
            ]
            connection.execute(insert(TimelineEvent), rows)
    return incident_id


def measure(db: Database, incident_id: int, fmt: str) -> tuple[float, int, int]:
    """(seconds, peak bytes, characters written).

    Timed without tracemalloc (it slows allocation-heavy code several times), then run
    again under it for the memory peak.
    """
    out = CountingStream()
    started = time.perf_counter()
    write_export(db, incident_id, fmt, out, ids_only)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    write_export(db, incident_id, fmt, CountingStream(), ids_only)  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, out.chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as workdir:
        db = Database(args.database_url or f"sqlite:///{Path(workdir) / 'bench.db'}")
        db.migrate()
        print(f"database: {db.engine.dialect.name}")
        header = f"{'events':>8} | {'format':<8} | {'seconds':>8} | {'us/event':>8} | "
        header += f"{'peak MiB':>8} | {'output MiB':>10}"
        print(header)
        print("-" * len(header))
        for number, size in enumerate(sizes, start=1):
            incident_id = seed(db, number, size)
            for fmt in ("markdown", "json"):
                seconds, peak, chars = measure(db, incident_id, fmt)
                print(
                    f"{size:>8,} | {fmt:<8} | {seconds:>8.2f} | {seconds / size * 1e6:>8.1f} | "
                    f"{peak / 2**20:>8.2f} | {chars / 2**20:>10.1f}"
                )
        db.dispose()


if __name__ == "__main__":
    main()
