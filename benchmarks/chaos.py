"""Chaos: many incidents through several replicas while Slack fails and replicas die.

`python -m benchmarks.chaos --database-url postgres --incidents 150` — three
`firebreak serve --http` replicas share one database; the emulator fails a share of the
calls that show a change (HTTP 500, `internal_error`, 429, and answers lost after Slack
carried the call out); a replica is killed with SIGKILL and restarted every few incidents;
every interaction is delivered three times to different replicas. Each incident is
declared, escalated to SEV1, given a comms lead and an update; every other one is
resolved by its update. The table counts what was lost, shown twice or left stale.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.harness import common_arguments, database, print_parameters, print_table
from emulator import SlackEmulator
from tests.conftest import granted_scopes
from tests.reliability.chaos import run_chaos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_arguments(parser)
    parser.add_argument("--incidents", type=int, default=30)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--kill-every", type=int, default=5, help="incidents between kills")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print_parameters("Chaos", vars(args))
    with (
        database(args.database_url) as url,
        SlackEmulator(scopes=granted_scopes()) as emulator,
        tempfile.TemporaryDirectory() as workdir,
    ):
        emulator.latency = args.latency_ms / 1000
        emulator.add_channel("incidents", members=[emulator.bot_user_id])
        report = run_chaos(
            emulator,
            url,
            Path(workdir),
            incidents=args.incidents,
            replicas=args.replicas,
            fault_rate=args.fault_rate,
            kill_every=args.kill_every,
            seed=args.seed,
        )
        failed = sum(1 for call in emulator.calls if not call.ok)
    print_table(
        [
            "incidents",
            "requests",
            "Slack calls failed",
            "kills",
            "refused",
            "lost",
            "duplicated",
            "stale",
            "seconds",
        ],
        [
            [
                report.incidents,
                report.requests,
                failed,
                report.kills,
                report.refused,
                len(report.lost),
                len(report.duplicated),
                len(report.stale),
                report.seconds,
            ]
        ],
    )
    for problem in report.lost + report.duplicated + report.stale:
        print(f"- {problem}")


if __name__ == "__main__":
    main()
