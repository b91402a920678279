"""What one user action costs: the Web API calls and database transactions it causes.

An action is the requests a person's gesture sends (a slash command, a button press, a
modal submission) and everything they set off until the app is idle again
(`Runtime.wait_idle`): the admission of each request, the listener's change, the
declaration's set-up steps, and the notifier carrying out the Slack effects after the
commit. Nothing in the code under test is replaced; the counts are observed:

- Web API calls: the calls the Slack emulator recorded (`SlackEmulator.calls`).
  Replies to a `response_url` are not Web API calls and are not counted.
- Database sessions: transactions begun on any of the runtime's engines (SQLAlchemy's
  `begin` event on `Database.engines()`), whether a `Database.session()`,
  `Database.connection()` or `Database.admission()` opened them. Admissions (the replay
  and duplicate check before each ack, one statement) are counted apart
  (`Cost.admissions`); `Cost.sessions` is every other one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event, select
from sqlmodel import col

from app.runtime import Runtime
from app.slack.outbound import blocks
from app.slack.outbound.update_blocks import UPDATE_CALLBACK
from app.store.models import Incident
from emulator import SlackEmulator
from tests.support.driver import SlackDriver
from tests.support.story import declare_modal, modal_values
from tests.support.updates import form_values

ADMISSION_MARK = "INSERT INTO processed_request"
SIGNATURE_KIND = "signature"


@dataclass
class Transaction:
    """One database transaction and the statements it sent."""

    statements: list[str] = field(default_factory=list)
    parameters: list[Any] = field(default_factory=list)

    @property
    def is_admission(self) -> bool:
        """The guard's one statement: claim the request's signature (and delivery)."""
        return (
            len(self.statements) == 1
            and self.statements[0].startswith(ADMISSION_MARK)
            and SIGNATURE_KIND in repr(self.parameters[0])
        )

    def describe(self) -> str:
        return " | ".join(" ".join(s.split())[:90] for s in self.statements) or "(no statement)"


class TransactionLog:
    """Every transaction begun on the given engines while it listens."""

    def __init__(self, engines: list[Engine]) -> None:
        self._engines = engines
        self._lock = threading.Lock()
        self._open: dict[int, Transaction] = {}
        self.transactions: list[Transaction] = []

    def _begin(self, connection: Connection) -> None:
        with self._lock:
            transaction = Transaction()
            self._open[id(connection)] = transaction
            self.transactions.append(transaction)

    def _execute(
        self, connection: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        with self._lock:
            transaction = self._open.get(id(connection))
            if transaction is not None:
                transaction.statements.append(statement)
                transaction.parameters.append(parameters)

    def _end(self, connection: Connection) -> None:
        with self._lock:
            self._open.pop(id(connection), None)

    @contextmanager
    def listening(self) -> Iterator[TransactionLog]:
        hooks: list[tuple[str, Callable[..., None]]] = [
            ("begin", self._begin),
            ("before_cursor_execute", self._execute),
            ("commit", self._end),
            ("rollback", self._end),
        ]
        for engine in self._engines:
            for name, hook in hooks:
                event.listen(engine, name, hook)
        try:
            yield self
        finally:
            for engine in self._engines:
                for name, hook in hooks:
                    event.remove(engine, name, hook)


@dataclass(frozen=True)
class Cost:
    calls: list[str]
    transactions: list[Transaction]

    @property
    def sessions(self) -> int:
        """Transactions of the action's own work: every one but the admissions."""
        return len(self.transactions) - self.admissions

    @property
    def admissions(self) -> int:
        return sum(1 for t in self.transactions if t.is_admission)

    def explain(self) -> str:
        lines = [f"{len(self.calls)} Web API calls: {', '.join(self.calls)}"]
        lines.append(f"{self.sessions} database sessions, and {self.admissions} admissions:")
        lines += [f"  {t.describe()}" for t in self.transactions]
        return "\n".join(lines)


def measure(runtime: Runtime, emulator: SlackEmulator, action: Callable[[], object]) -> Cost:
    """Run `action` (its requests), wait until the app is idle, and count what it caused."""
    assert runtime.wait_idle(15), "busy before the action"
    calls_before = len(emulator.calls)
    log = TransactionLog(runtime.db.engines())
    with log.listening():
        action()
        assert runtime.wait_idle(15), "still busy 15 s after the action"
    return Cost([call.method for call in emulator.calls[calls_before:]], list(log.transactions))


# The actions measured, in the order they happen to one incident, and what each sends.
ACTIONS = {
    "declare": "/incident, then the declare modal submitted (SEV3)",
    "assign_role": "the commander makes another responder comms (card select)",
    "raise_severity": "SEV3 to SEV2 on the card; stakeholders told in the thread, broadcast",
    "change_status": "Investigating to Identified on the card",
    "open_update_form": "Post update on the card: the update modal opens",
    "post_update": "the update modal submitted, moving the status to Monitoring",
    "post_routine_update": "the update modal submitted again, keeping the status",
    "add_note": "/incident note in the incident channel",
    "resolve": "Resolve on the card",
}


class Story:
    """One incident through the common actions, each measured on its own.

    A declaration first warms the process up (the announcement channel is looked up once
    per process), so the measured one is what every later declaration costs. The update
    modal is opened (the button, or `/incident update`) and submitted in two actions.
    """

    def __init__(self, slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime) -> None:
        self.slack = slack
        self.emulator = emulator
        self.runtime = runtime
        self.commander = emulator.user_by_name("alice").id
        self.responder = emulator.user_by_name("bob").id
        emulator.add_channel("incidents", members=[self.commander, self.responder])
        self.general = emulator.channel_by_name("general").id
        self.incident_id = 0
        self.channel_id = ""
        self.costs: dict[str, Cost] = {}

    def run(self) -> dict[str, Cost]:
        assert self.runtime.identity.wait(10), "auth.test never answered"
        self._declare("Warm-up")
        self._measure("declare", lambda: self._declare("Checkout fails"))
        self.incident_id, self.channel_id = self._latest_incident()
        self._measure("assign_role", self._assign_role)
        self._measure("raise_severity", lambda: self._select(blocks.SEVERITY_ACTION, "SEV2"))
        self._measure("change_status", lambda: self._select(blocks.STATUS_ACTION, "identified"))
        self._measure("open_update_form", self._open_update_form)
        self._measure("post_update", lambda: self._submit_update("A bad deploy"))
        self._open_update_form()
        # The card shows the last update to the second: one in the same second as the one
        # before would leave the card as it was, which no real cadence does.
        time.sleep(1.01 - time.time() % 1)
        self._measure("post_routine_update", lambda: self._submit_update("Errors are gone"))
        self._measure("add_note", self._add_note)
        self._measure("resolve", self._resolve)
        return self.costs

    def _measure(self, name: str, action: Callable[[], object]) -> None:
        self.costs[name] = measure(self.runtime, self.emulator, action)

    def _declare(self, title: str) -> None:
        self.slack.command("", user=self.commander, channel=self.general)
        submitted = self.slack.submit(
            declare_modal(self.emulator), modal_values(title, "SEV3"), user=self.commander
        )
        assert submitted.status == 200

    def _latest_incident(self) -> tuple[int, str]:
        with self.runtime.db.session() as session:
            incident = session.execute(
                select(Incident).order_by(col(Incident.id).desc()).limit(1)
            ).scalar_one()
        assert incident.id is not None and incident.channel_id and incident.setup_complete
        return incident.id, incident.channel_id

    def _press(self, action: dict[str, Any]) -> None:
        result = self.slack.action(
            {"block_id": f"controls:{self.incident_id}", **action},
            user=self.commander,
            channel=self.channel_id,
        )
        assert result.status == 200

    def _assign_role(self) -> None:
        self._press(
            {
                "type": "users_select",
                "action_id": f"{blocks.ROLE_ACTION_PREFIX}comms",
                "selected_user": self.responder,
            }
        )

    def _select(self, action_id: str, value: str) -> None:
        self._press(
            {"type": "static_select", "action_id": action_id, "selected_option": {"value": value}}
        )

    def _open_update_form(self) -> None:
        self._press(
            {
                "type": "button",
                "action_id": blocks.POST_UPDATE_ACTION,
                "value": str(self.incident_id),
            }
        )

    def _submit_update(self, know: str) -> None:
        forms = [v for v in self.emulator.views.values() if v.get("callback_id") == UPDATE_CALLBACK]
        values = form_values(know, "Rolling it back", "30", "monitoring")
        result = self.slack.submit(forms[-1], values, user=self.commander)
        assert result.status == 200 and not result.body, result.body

    def _add_note(self) -> None:
        note = "note Rolled back the deploy"
        self.slack.command(note, user=self.commander, channel=self.channel_id)

    def _resolve(self) -> None:
        self._press(
            {"type": "button", "action_id": blocks.RESOLVE_ACTION, "value": str(self.incident_id)}
        )
