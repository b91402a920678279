"""`firebreak demo`: a whole incident against the local Slack emulator.

The real Bolt app runs behind the real HTTP server on a temporary SQLite database; the
demo sends it the signed requests Slack would send (slash commands, buttons, modal
submissions, a pin event), or with `--socket-mode` the same as envelopes over the
emulator's Socket Mode WebSocket, then prints the incident channel and the stakeholder thread as
readers see them and writes the postmortem. A story clock moves the incident through an
hour, so reminders fall due and the postmortem shows real durations.
"""

from __future__ import annotations

import importlib.util
import json
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.config import Settings
from app.export.delivery import slack_people, write_export
from app.incidents import repository as repo
from app.logging import configure_logging
from app.runtime import Runtime, build_runtime
from app.server import HttpServer
from app.slack.outbound.update_blocks import UPDATE_CALLBACK

if TYPE_CHECKING:
    # The emulator is imported when the demo runs: an installation without it (the
    # runtime image) still carries this module, and `run_demo` says where the demo lives.
    from emulator import SlackEmulator
    from emulator.driver import Driver

INCIDENT_TITLE = "Checkout fails for EU users"


class StoryClock:
    """The time of the story: starts now, moves only when the story says so."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)


@dataclass
class Demo:
    """A running Firebreak with a Slack emulator, and the people in the story."""

    emulator: SlackEmulator
    runtime: Runtime
    slack: Driver[Any]  # what Slack sends, over HTTP or Socket Mode
    public_url: str  # the public port: alert intake
    alice: str
    bob: str
    carol: str
    clock: StoryClock
    channel: str = ""
    incident_id: int = 0

    # --- what Slack sends -----------------------------------------------------------------

    def _answered(self, result: Any, what: str) -> None:
        if not self.slack.answered(result):
            raise RuntimeError(f"Firebreak did not acknowledge the {what}")

    def settle(self, timeout: float) -> bool:
        """Until the work after each ack is done, alerts' Slack messages included."""
        runtime = self.runtime
        return (
            runtime.wait_idle(timeout)
            and runtime.services.alerts.wait_idle(timeout)
            and runtime.wait_idle(timeout)
        )

    def alert(self, payload: dict[str, Any]) -> None:
        """What Alertmanager sends, with the bearer token it is configured with."""
        from emulator.driver import http_request

        token = self.runtime.settings.alerts_token
        assert token is not None
        result = http_request(
            self.public_url + "/alerts/alertmanager",
            json.dumps(payload).encode(),
            {
                "Authorization": f"Bearer {token.get_secret_value()}",
                "Content-Type": "application/json",
            },
        )
        if result.status != 200:
            raise RuntimeError(f"the alert intake answered {result.status}")
        self.slack.wait()

    def command(self, text: str, user: str, channel: str | None = None) -> None:
        result = self.slack.command(text, user=user, channel=channel or self.channel)
        self._answered(result, f"/incident {text}")

    def press(
        self, action: dict[str, Any], user: str, channel: str, message: dict[str, Any] | None = None
    ) -> None:
        result = self.slack.action(action, user=user, channel=channel, message=message)
        self._answered(result, f"{action['action_id']} button")

    def submit(self, view: dict[str, Any], values: dict[str, Any], user: str) -> None:
        result = self.slack.submit(view, values, user=user)
        self._answered(result, f"{view['callback_id']} form")

    def event(self, event: dict[str, Any]) -> None:
        self._answered(self.slack.event(event), f"{event['type']} event")


# --- the story ------------------------------------------------------------------------------


def post_update(demo: Demo, status: str, know: str, doing: str, minutes: int) -> None:
    """The comms lead presses "Post update" on the card and fills in the form."""
    demo.press(
        {
            "type": "button",
            "action_id": "post_update",
            "block_id": f"controls:{demo.incident_id}",
            "value": str(demo.incident_id),
        },
        demo.bob,
        demo.channel,
    )
    [*_, form] = [v for v in demo.emulator.views.values() if v["callback_id"] == UPDATE_CALLBACK]
    values = {
        "status": {"value": {"type": "static_select", "selected_option": {"value": status}}},
        "know": {"value": {"type": "plain_text_input", "value": know}},
        "doing": {"value": {"type": "plain_text_input", "value": doing}},
        "next": {"value": {"type": "number_input", "value": str(minutes)}},
    }
    demo.submit(form, values, demo.bob)


def alert_fires(demo: Demo) -> None:
    """Alertmanager reports EU checkout errors; Firebreak posts them to #alerts."""
    started = demo.clock.now - timedelta(minutes=4)
    alert = {
        "status": "firing",
        "labels": {"alertname": "CheckoutErrorsEU", "severity": "high", "service": "checkout"},
        "annotations": {"summary": "Checkout 5xx rate above 5% in eu-west-1"},
        "startsAt": started.isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=checkout_5xx",
        "fingerprint": "checkout-errors-eu",
    }
    demo.alert(
        {
            "version": "4",
            "receiver": "firebreak",
            "status": "firing",
            "groupKey": '{}:{alertname="CheckoutErrorsEU"}',
            "groupLabels": {"alertname": "CheckoutErrorsEU"},
            "commonLabels": {"alertname": "CheckoutErrorsEU"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.com",
            "alerts": [alert],
        }
    )


def _press_alert_button(demo: Demo, action_id: str) -> None:
    """Alice presses a button on the alert's message in #alerts."""
    alerts = demo.emulator.channel_by_name("alerts").id
    [message] = demo.emulator.messages(alerts)
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                action = {**element, "block_id": block.get("block_id")}
                demo.press(action, demo.alice, alerts, message)
                return
    raise LookupError(action_id)


def declare(demo: Demo) -> None:
    """Alice acknowledges the alert, then declares an incident from it."""
    demo.clock.advance(1)
    _press_alert_button(demo, "alert_ack")
    demo.clock.advance(2)
    _press_alert_button(demo, "alert_declare")
    [*_, form] = [
        v for v in demo.emulator.views.values() if v["callback_id"] == "alert_declare_incident"
    ]
    values = {
        "title": {"value": {"type": "plain_text_input", "value": INCIDENT_TITLE}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV3"}}},
        "summary": {"value": {"type": "plain_text_input", "value": ""}},
        "options": {"value": {"type": "checkboxes", "selected_options": [{"value": "commander"}]}},
    }
    demo.submit(form, values, demo.alice)
    with demo.runtime.db.session() as session:
        incident = repo.incident_by_number(session, demo.emulator.team_id, 1)
        assert incident is not None and incident.id is not None and incident.channel_id
        demo.incident_id, demo.channel = incident.id, incident.channel_id


def assign_roles(demo: Demo) -> None:
    demo.clock.advance(2)
    demo.command(f"role comms <@{demo.bob}>", demo.alice)
    demo.command(f"role scribe <@{demo.carol}>", demo.alice)


def escalate(demo: Demo) -> None:
    demo.clock.advance(3)
    demo.command("severity SEV2", demo.alice)


def first_update(demo: Demo) -> None:
    demo.clock.advance(4)
    post_update(
        demo,
        "identified",
        "Card payments from EU customers fail with gateway timeouts since 09:20.",
        "Rolling back this morning's payments-api deploy.",
        30,
    )


def pin_a_finding(demo: Demo) -> None:
    demo.clock.advance(3)
    ts = demo.emulator.add_message(
        demo.channel, demo.bob, "502s from the EU payment gateway since 09:20, rising fast"
    )
    demo.emulator.pin_message(demo.channel, ts, user_id=demo.alice)
    demo.event(
        {
            "type": "pin_added",
            "user": demo.alice,
            "channel_id": demo.channel,
            "item": {"type": "message", "channel": demo.channel, "message": {"ts": ts}},
            "event_ts": f"{time.time():.6f}",
        }
    )


def reminder_falls_due(demo: Demo) -> None:
    """No update for 30 minutes at SEV2: the comms lead is reminded."""
    demo.clock.advance(30)
    demo.runtime.scheduler.tick()


def add_action_item(demo: Demo) -> None:
    demo.clock.advance(2)
    demo.command(f"action Alert on EU gateway 5xx rate <@{demo.bob}> due 2026-12-15", demo.alice)


def all_clear(demo: Demo) -> None:
    demo.clock.advance(3)
    demo.command("note Rolled back payments-api to v812; error rate back to normal", demo.carol)
    post_update(
        demo,
        "monitoring",
        "Payments recovered after the rollback; error rates are back to normal.",
        "Watching error rates for 30 minutes before we call it resolved.",
        30,
    )


def resolve(demo: Demo) -> None:
    demo.clock.advance(12)
    demo.command("resolve", demo.alice)


STEPS = (
    alert_fires,
    declare,
    assign_roles,
    escalate,
    first_update,
    pin_a_finding,
    reminder_falls_due,
    add_action_item,
    all_clear,
    resolve,
)


# --- the channel as a reader sees it --------------------------------------------------------

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def readable(text: str, emulator: SlackEmulator) -> str:
    users = emulator.users
    channels = emulator.channels
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _USER.sub(lambda m: f"@{users[m.group(1)].name}" if m.group(1) in users else "@?", text)
    text = _CHANNEL.sub(
        lambda m: f"#{channels[m.group(1)].name}" if m.group(1) in channels else "#?", text
    )
    text = _BOLD.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def block_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit as text: headers, sections (and their fields), context; controls skipped."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            fields = [f["text"].replace("\n", ": ", 1) for f in block.get("fields", [])]
            if fields:
                lines.append(" · ".join(fields))
        elif kind == "context":
            lines.append(" · ".join(e.get("text", "") for e in block.get("elements", [])))
        elif kind == "actions":
            labels = [e["text"]["text"] for e in block.get("elements", []) if "text" in e]
            if labels:
                lines.append("[" + "] [".join(labels) + "]")
    return lines


def print_channel(demo: Demo, channel_id: str, out: TextIO) -> None:
    emulator = demo.emulator
    channel = emulator.channels[channel_id]
    out.write(f"\n#{channel.name}\n{'-' * (len(channel.name) + 1)}\n")
    for message in emulator.messages(channel_id):
        if message.get("subtype") == "thread_broadcast":
            continue  # shown in its thread
        _print_message(demo, message, out, indent="")
        for reply in emulator.replies(channel_id, message["ts"]):
            if reply["ts"] != message["ts"]:
                _print_message(demo, reply, out, indent="    ")


def _print_message(demo: Demo, message: dict[str, Any], out: TextIO, indent: str) -> None:
    users = demo.emulator.users
    author = users[message["user"]].real_name if message.get("user") in users else "?"
    when = datetime.fromtimestamp(float(message["ts"]), UTC).strftime("%H:%M:%S")
    pinned = " (pinned)" if message.get("pinned_to") else ""
    blocks = message.get("blocks") or []
    body = block_lines(blocks) if blocks else [message.get("text", "")]
    out.write(f"{indent}{author}  {when} UTC{pinned}\n")
    for line in body:
        for part in readable(line, demo.emulator).splitlines() or [""]:
            out.write(f"{indent}  {part}\n")


# --- running it -----------------------------------------------------------------------------


@contextmanager
def running_firebreak(workdir: Path, *, socket_mode: bool = False) -> Iterator[Demo]:
    from emulator import SlackEmulator

    secret = secrets.token_hex(16)
    clock = StoryClock()
    with SlackEmulator() as emulator:
        emulator.clock = clock.epoch
        people = [emulator.user_by_name(name).id for name in ("alice", "bob", "carol")]
        emulator.add_channel("incidents", members=[*people, emulator.bot_user_id])
        emulator.add_channel("alerts", members=people)
        settings = Settings(
            _env_file=None,
            slack_bot_token=emulator.bot_token,
            slack_signing_secret=None if socket_mode else secret,
            slack_app_token=emulator.app_token if socket_mode else None,
            slack_api_url=emulator.api_url,
            database_url=f"sqlite:///{workdir / 'demo.db'}",
            alerts_token=secrets.token_hex(16),
            alerts_channel_interval_seconds=0,
        )
        runtime = build_runtime(settings, clock=clock)
        with _slack_side(runtime, emulator, secret, socket_mode) as (slack, public_url):
            try:
                demo = Demo(
                    emulator=emulator,
                    runtime=runtime,
                    slack=slack,
                    public_url=public_url,
                    alice=people[0],
                    bob=people[1],
                    carol=people[2],
                    clock=clock,
                )
                slack.idle = demo.settle
                yield demo
            finally:
                runtime.close()


@contextmanager
def _slack_side(
    runtime: Runtime, emulator: SlackEmulator, secret: str, socket_mode: bool
) -> Iterator[tuple[Driver[Any], str]]:
    """(what Slack sends, public base URL). The real HTTP server always runs: it takes the
    alerts. In HTTP mode Slack's requests go to its events URL; in Socket Mode Bolt's
    handler connects to the emulator's WebSocket, as `firebreak serve` connects to Slack."""
    from emulator.driver import HttpDriver, SocketModeDriver

    server = HttpServer(runtime.web, host="127.0.0.1", port=0, threads=4, max_body_bytes=1 << 20)
    server.start()
    try:
        if not socket_mode:
            yield HttpDriver(server.url, secret, emulator), server.url
            return
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(runtime.bolt, emulator.app_token)
        handler.connect()  # type: ignore[no-untyped-call]
        emulator.socket_mode.wait_connected()
        try:
            yield SocketModeDriver(emulator), server.url
        finally:
            handler.close()  # type: ignore[no-untyped-call]
    finally:
        server.stop()


def run_demo(
    output: str | None,
    out: TextIO | None = None,
    *,
    socket_mode: bool = False,
    report: str | None = None,
) -> int:
    out = out or sys.stdout
    if importlib.util.find_spec("emulator") is None:
        print(
            "firebreak: the demo needs the `emulator` package (the local Slack it runs "
            "against), which this installation leaves out; use the demo image "
            "(`docker build --target demo`) or a source checkout (`python3 dev.py demo`)",
            file=sys.stderr,
        )
        return 2
    if socket_mode and importlib.util.find_spec("websockets") is None:
        print(
            "firebreak: demo --socket-mode needs the websockets package "
            "(pip install websockets, or install Firebreak's dev extra)",
            file=sys.stderr,
        )
        return 2
    configure_logging(level="WARNING")
    target = Path(output or "postmortem-INC-1.md")
    with (
        tempfile.TemporaryDirectory(prefix="firebreak-demo-") as workdir,
        running_firebreak(Path(workdir), socket_mode=socket_mode) as demo,
    ):
        out.write(f"Slack's requests arrive over {'Socket Mode' if socket_mode else 'HTTP'}\n")
        for step in STEPS:
            out.write(f"· {step.__name__.replace('_', ' ')}\n")
            step(demo)
        print_channel(demo, demo.emulator.channel_by_name("alerts").id, out)
        print_channel(demo, demo.channel, out)
        print_channel(demo, demo.emulator.channel_by_name("incidents").id, out)
        people = slack_people(demo.runtime.services.slack)
        with target.open("w", encoding="utf-8") as postmortem:
            write_export(demo.runtime.db, demo.incident_id, "markdown", postmortem, people)
        if report:
            write_demo_report(demo, Path(report), out)
    out.write(f"\nPostmortem written to {target}\n")
    return 0


def write_demo_report(demo: Demo, directory: Path, out: TextIO) -> None:
    """The insight report over the demo's database (the last 90 days of its story clock)."""
    from app.insight.figures import Period
    from app.insight.report import compute_insight, write_report

    now = demo.runtime.services.clock()
    period = Period(now - timedelta(days=90), now + timedelta(seconds=1))
    insight = compute_insight(demo.runtime.db, demo.runtime.settings, period, now)
    people = slack_people(demo.runtime.services.slack)
    for path in write_report(insight, "markdown", directory, people):
        out.write(f"Report: {path}\n")
