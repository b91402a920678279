"""What each common action costs in Web API calls and database sessions, pinned.

One incident goes through the actions of `tests.support.costs.ACTIONS`: its declaration
(`/incident`, then the modal submitted), a role handed out, severity raised to SEV2 (with
its broadcast to stakeholders), a status chosen on the card, the update modal opened
("Post update"), a stakeholder update submitted that moves the status and one that keeps
it, a `/incident note`, and Resolve. Each action is counted from its first request until
the app is idle again (`Runtime.wait_idle`), so the count holds everything it set off:

- Web API calls: every call the emulator recorded, by method: the listener's own calls
  (`views.open`, `users.info`...), the declaration's set-up steps, and the notifier
  carrying out the Slack effects after the commit. Replies to a `response_url` are not
  Web API calls and are not counted.
- Database sessions: database transactions, observed with SQLAlchemy's `begin` event on
  every engine of the runtime (`Database.engines()`), whoever opened them
  (`Database.session()`, `Database.connection()`): the listener's reads and its change,
  the set-up steps, the notifier's settle transaction (a change leases its effects and
  reads what they are drawn from in its own transaction; the notifier claims in one of
  its own only what nothing handed it). Admissions (the
  guard's replay and duplicate check before each ack, one statement per request, on a
  pool of its own on PostgreSQL) are counted apart, one per request.

Not counted: the reminder scheduler's job store (APScheduler writes a job when a change
moves the next reminder, only where the scheduler runs; this runtime does not start it)
and the maintenance loop's periodic sweeps, which belong to no action.

The numbers are exact: a change that adds a call or a session fails here, and so does one
that saves some, so that the pin and the README's table ("Calls per action",
`python -m benchmarks.calls_per_action`) are brought down with it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.runtime import Runtime
from app.store.idempotency import RequestLedger
from emulator import SlackEmulator
from tests.support.costs import ACTIONS, Cost, Story, TransactionLog
from tests.support.driver import SlackDriver


@dataclass(frozen=True)
class Pin:
    calls: dict[str, int]
    sessions: int
    admissions: int

    def mismatch(self, cost: Cost) -> str | None:
        counted = Pin(dict(Counter(cost.calls)), cost.sessions, cost.admissions)
        if counted == self:
            return None
        return f"pinned {self}\ncounted {counted}\n{cost.explain()}"


REDRAWS = {"chat.update": 2, "conversations.setTopic": 1}
SET_UP = {
    "conversations.create": 1,
    "conversations.invite": 1,
    "conversations.setTopic": 1,
    "chat.postMessage": 2,
    "pins.add": 1,
    "chat.getPermalink": 1,
    "bookmarks.add": 1,
}

PINS = {
    # views.open, then the eight set-up calls.
    "declare": Pin({"views.open": 1, **SET_UP}, sessions=5, admissions=2),
    # users.info checks the new holder is a person; the invite, the redraws, the line.
    "assign_role": Pin(
        {"users.info": 1, "conversations.invite": 1, **REDRAWS, "chat.postMessage": 1},
        sessions=2,
        admissions=1,
    ),
    # The redraws, the line in the channel and the broadcast reply in the thread.
    "raise_severity": Pin({**REDRAWS, "chat.postMessage": 2}, sessions=2, admissions=1),
    "change_status": Pin({**REDRAWS, "chat.postMessage": 1}, sessions=2, admissions=1),
    # The update modal opens (Post update, or /incident update).
    "open_update_form": Pin({"views.open": 1}, sessions=1, admissions=1),
    # The redraws, the status line, the update in the channel and in the thread.
    "post_update": Pin({**REDRAWS, "chat.postMessage": 3}, sessions=2, admissions=1),
    # The topic shows no update: it was drawn just so before, and is not sent again.
    "post_routine_update": Pin({"chat.update": 2, "chat.postMessage": 2}, sessions=2, admissions=1),
    # Recorded on the timeline only; the answer goes to the response_url.
    "add_note": Pin({}, sessions=2, admissions=1),
    # The redraws, the line, the "resolved" reply in the thread.
    "resolve": Pin({**REDRAWS, "chat.postMessage": 2}, sessions=2, admissions=1),
}


def test_each_action_costs_what_is_pinned(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime
) -> None:
    assert set(PINS) == set(ACTIONS)
    costs = Story(slack, emulator, runtime).run()
    mismatches = {
        name: problem for name, pin in PINS.items() if (problem := pin.mismatch(costs[name]))
    }
    assert not mismatches, "\n\n".join(f"{name}: {text}" for name, text in mismatches.items())


def test_a_session_is_a_transaction_whoever_opens_it(runtime: Runtime) -> None:
    """The counting itself: an ORM session, a bare connection, then an admission."""
    log = TransactionLog(runtime.db.engines())
    with log.listening():
        with runtime.db.session() as session:
            session.connection()
        with runtime.db.connection():
            pass
        RequestLedger(runtime.db).admit("sig:1:v0=abc", ("delivery:event:Ev1", "event"))
    assert [t.is_admission for t in log.transactions] == [False, False, True]
