"""`firebreak insight`: the operator's report over every incident, private ones included."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from app.config import Settings
from app.logging import get_logger

log = get_logger(__name__)
FORMATS = ("markdown", "html", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="start: a date (2026-01-01) or a span (90d); default 90d")
    parser.add_argument("--until", help="end: a date or a span back from now; default now")
    parser.add_argument("--service", help="only incidents of this service")
    parser.add_argument("--team", help="only this workspace (team id)")
    parser.add_argument("--format", choices=FORMATS, default="markdown")
    parser.add_argument(
        "-o", "--out", default="insight", help="directory to write into (default ./insight)"
    )


def run_insight(settings: Settings, args: argparse.Namespace) -> int:
    # matplotlib and numpy load only when a report is asked for, not on every command.
    from app.export.cli import _people as people_for
    from app.insight.report import compute_insight, period_for, write_report
    from app.store.database import Database

    now = datetime.now(UTC)
    try:
        period = period_for(args.since, args.until, now)
    except ValueError as error:
        print(f"firebreak: {error}", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    try:
        insight = compute_insight(db, settings, period, now, service=args.service, team=args.team)
    finally:
        db.dispose()
    written = write_report(insight, args.format, Path(args.out), people_for(settings))
    log.info("insight_written", incidents=insight.incident_count, files=len(written))
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0
