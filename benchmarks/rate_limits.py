"""A burst of declarations against Slack's rate-limit tiers: all complete, none lost.

`python -m benchmarks.rate_limits` — the emulator enforces Slack's published tiers
(`emu.enforce_slack_tiers()`: a sliding one-minute window per method, per channel for
chat.postMessage) and answers 429 with Retry-After past them. A burst of declarations is
submitted at once; the table compares the total time with the floor the limits allow.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

from sqlalchemy import func, select
from sqlmodel import col

from app.store.models import Incident
from benchmarks.declaration import declare_at_once
from benchmarks.harness import common_arguments, firebreak, print_parameters, print_table
from emulator import METHODS, Call
from emulator.server import RATE_WINDOW_SECONDS


def limit_key(call: Call) -> str:
    spec = METHODS[call.method]
    return f"{call.method} #{call.args.get('channel', '')}" if spec.per_channel else call.method


def floor_seconds(calls: list[Call], limits: dict[str, int]) -> tuple[float, str]:
    """The least time the accepted calls could take under the limits: a key with n calls
    and a limit of L per window needs ceil(n / L) - 1 full windows before its last call."""
    counts = Counter(limit_key(c) for c in calls if c.status != 429)
    worst, bound_by = 0.0, "none"
    for key, count in counts.items():
        limit = limits.get(key.split(" #")[0])
        if not limit:
            continue
        needed = (math.ceil(count / limit) - 1) * RATE_WINDOW_SECONDS
        if needed > worst:
            worst, bound_by = needed, key
    return worst, bound_by


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rate_limits", description=__doc__)
    parser.add_argument("--declarations", type=int, default=100)
    parser.add_argument(
        "--scale",
        type=float,
        default=2.5,
        help="multiply every tier's limit by this (1 = Slack's real limits); at 1, 100 "
        "declarations need 4 minutes of conversations.create (Tier 2, 20 a minute)",
    )
    common_arguments(parser)
    options = parser.parse_args(argv)

    with firebreak(options.latency_ms, options.database_url) as app:
        declare_at_once(app, ["Warm-up incident"])  # finds #incidents once, before the limits
        app.emu.enforce_slack_tiers()
        app.emu.rate_limits = {
            method: max(1, math.floor(limit * options.scale))
            for method, limit in app.emu.rate_limits.items()
        }
        limits = dict(app.emu.rate_limits)
        app.emu.reset_calls()
        titles = [f"Burst incident {n}" for n in range(options.declarations)]
        started = time.perf_counter()
        declare_at_once(app, titles)
        elapsed = time.perf_counter() - started
        calls = app.emu.calls
        with app.db.session() as session:
            burst = col(Incident.title).like("Burst incident %")
            declared = session.execute(
                select(func.count()).select_from(Incident).where(burst)
            ).scalar_one()
            ready = session.execute(
                select(func.count())
                .select_from(Incident)
                .where(burst, col(Incident.setup_complete))
            ).scalar_one()

    floor, bound_by = floor_seconds(calls, limits)
    throttled = Counter(c.method for c in calls if c.status == 429)
    print_parameters(
        "Rate limits: a burst of declarations under Slack's tiers",
        {
            "command": "python -m benchmarks.rate_limits " + " ".join(argv or []),
            "declarations": options.declarations,
            "tiers": "Slack's published tiers"
            + (
                ""
                if options.scale == 1
                else f" scaled x{options.scale:g} (same shape; Slack's real limits would need "
                "more than two minutes for this burst)"
            ),
            "limits per minute": ", ".join(
                f"{m} {limits[m]}" for m in ("conversations.create", "pins.add", "chat.postMessage")
            )
            + " (per channel)",
            "Web API latency (emulator)": f"{options.latency_ms:g} ms per call",
            "database": options.database_url or "SQLite (temporary file)",
        },
    )
    print_table(
        [
            "declared",
            "channels ready",
            "lost",
            "429s answered",
            "floor s",
            "actual s",
            "floor set by",
        ],
        [
            [
                declared,
                ready,
                options.declarations - ready,
                sum(throttled.values()),
                floor,
                elapsed,
                bound_by,
            ]
        ],
    )
    if throttled:
        print("\n429s by method: " + ", ".join(f"{m} {n}" for m, n in throttled.most_common()))


if __name__ == "__main__":
    main()
