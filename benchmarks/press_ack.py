"""What recording before the ack costs: the ack time of card presses and commands.

`python -m benchmarks.press_ack [--database-url postgres]` — one incident, then a series
of severity presses (alternating SEV1 / SEV2) sent one after another. A press from the
commander is recorded at once; a press from another member first asks Slack whether they
are in the channel (`conversations.members`), then records. Both ack only after the
commit. `/incident help`, which records nothing and acks first, is the baseline.
"""

from __future__ import annotations

import argparse

from sqlalchemy import select
from sqlmodel import col

from app.slack.outbound import blocks
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


def _press(app: Firebreak, incident: Incident, user: str, severity: str) -> Timed:
    action = {
        "type": "static_select",
        "action_id": blocks.SEVERITY_ACTION,
        "block_id": f"controls:{incident.id}",
        "selected_option": {"value": severity},
    }
    return app.post("press", app.action_body(action, user, incident.channel_id or ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common_arguments(parser)
    parser.add_argument("--presses", type=int, default=100)
    args = parser.parse_args()
    print_parameters("Ack time of recorded presses", vars(args))
    with firebreak(args.latency_ms, args.database_url) as app:
        commander, member = app.users[0], app.users[1]
        app.post("declare", app.declare_body("Checkout fails", commander))
        app.wait_idle()
        with app.db.session() as session:
            incident = session.execute(select(Incident).order_by(col(Incident.id))).scalar_one()
        assert incident.channel_id is not None
        app.emu.join(incident.channel_id, member)
        rows = []
        for label, user in (
            ("severity press, commander", commander),
            ("severity press, member", member),
        ):
            timings = [
                _press(app, incident, user, "SEV1" if n % 2 else "SEV2").seconds
                for n in range(args.presses)
            ]
            app.wait_idle()
            rows.append([label, *summary_ms(timings)])
        timings = [
            app.post("help", app.command_body("help", commander, incident.channel_id)).seconds
            for _ in range(args.presses)
        ]
        rows.append(["/incident help (acks first)", *summary_ms(timings)])
    print_table(["request", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms"], rows)


if __name__ == "__main__":
    main()
