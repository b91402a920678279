"""Web API calls and database sessions per user action, on SQLite and PostgreSQL.

`python -m benchmarks.calls_per_action [--databases sqlite postgresql]` runs one incident
through the common actions (`tests.support.costs.ACTIONS`) in this process, against the
emulator, and prints what each cost: the same counting that
`tests/reliability/test_calls_per_action.py` pins. See that test for what is counted.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from app.config import Settings
from app.logging import configure_logging
from app.manifest_check import load_manifest
from app.runtime import build_runtime
from app.server import HttpServer
from benchmarks.harness import SIGNING_SECRET, database, print_parameters, print_table
from emulator import SlackEmulator
from tests.support.costs import ACTIONS, Cost, Story
from tests.support.driver import SlackDriver

DATABASES = ("sqlite", "postgresql")


@contextmanager
def _firebreak(url: str) -> Iterator[tuple[SlackDriver, SlackEmulator, Story]]:
    scopes = frozenset(load_manifest()["oauth_config"]["scopes"]["bot"])
    with SlackEmulator(scopes=scopes) as emulator:
        settings = Settings(
            _env_file=None,
            slack_bot_token=emulator.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=emulator.api_url,
            database_url=url,
        )
        runtime = build_runtime(settings)
        http = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
        http.start()
        try:
            slack = SlackDriver(http.url, SIGNING_SECRET, emulator, runtime)
            yield slack, emulator, Story(slack, emulator, runtime)
        finally:
            http.stop()
            runtime.close()


def costs_on(name: str) -> dict[str, Cost]:
    with database(name) as url, _firebreak(url) as (_slack, _emulator, story):
        return story.run()


def _sessions(cost: Cost) -> str:
    return f"{cost.sessions} + {cost.admissions}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", choices=DATABASES, default=list(DATABASES))
    args = parser.parse_args()
    configure_logging(level="WARNING")
    measured = {name: costs_on(name) for name in args.databases}
    print_parameters(
        "Web API calls and database sessions per action",
        {
            "databases": ", ".join(args.databases),
            "sessions": "transactions of the action's own work + admissions (one per request)",
        },
    )
    headers = ["action", "what it sends"]
    headers += [f"Web API calls ({name})" for name in args.databases]
    headers += [f"sessions + admissions ({name})" for name in args.databases]
    rows = [
        [action, what]
        + [len(measured[name][action].calls) for name in args.databases]
        + [_sessions(measured[name][action]) for name in args.databases]
        for action, what in ACTIONS.items()
    ]
    print_table(headers, rows)
    print()
    first = args.databases[0]
    print_table(
        ["action", f"calls by method ({first})"],
        [[action, _by_method(measured[first][action])] for action in ACTIONS],
    )


def _by_method(cost: Cost) -> str:
    return ", ".join(f"{method} {count}" for method, count in Counter(cost.calls).items())


if __name__ == "__main__":
    main()
