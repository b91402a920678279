"""Global Bolt middleware: refuse replayed requests, drop duplicate deliveries.

Bolt has already checked the v0 signature and its five-minute window when this runs.
A request whose exact (timestamp, signature) was seen before is a replay: 401. A delivery
Slack sends again (an event retry, a modal submitted twice, an action delivered twice) is
answered 200 at once and changes nothing. Keys are what Slack sends: event_id, view id +
hash + submitted values, action_ts, trigger_id. Admission is one statement on connections
of its own (`Database.admission`), so an ack costs the signature check and one insert.

Slash commands, shortcuts and button presses then run in the listener pool's urgent lane
(`Lane`): the modal they may open must reach Slack within its trigger id's 3 s. Each
listener's `ack()` is a `GatedAck`: after it, the listener waits for a work slot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from app.logging import get_logger
from app.slack.inbound.executor import GatedAck, Lane, ListenerExecutor, mark_lane
from app.store.idempotency import Admission, RequestLedger

log = get_logger(__name__)

Delivery = tuple[str, str]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def delivery_key(body: dict[str, Any]) -> Delivery | None:
    """(key, kind) naming this delivery, or None for requests that change nothing."""
    kind = _text(body.get("type"))
    if kind == "event_callback" and _text(body.get("event_id")):
        return f"delivery:event:{body['event_id']}", "event"
    if kind == "view_submission":
        view = _dict(body.get("view"))
        values = json.dumps(_dict(view.get("state")).get("values"), sort_keys=True, default=str)
        digest = hashlib.sha256(values.encode()).hexdigest()[:16]
        return f"delivery:view:{_text(view.get('id'))}:{_text(view.get('hash'))}:{digest}", "view"
    if kind == "block_actions":
        actions = body.get("actions")
        first = _dict(actions[0]) if isinstance(actions, list) and actions else {}
        user = _text(_dict(body.get("user")).get("id"))
        if _text(first.get("action_ts")):
            return f"delivery:action:{user}:{first['action_ts']}", "action"
    if kind in ("shortcut", "message_action") and _text(body.get("trigger_id")):
        return f"delivery:shortcut:{body['trigger_id']}", "shortcut"
    if _text(body.get("command")) and _text(body.get("trigger_id")):
        return f"delivery:command:{body['trigger_id']}", "command"
    return None


def lane(body: Any) -> Lane:
    """Where this request's listener queues (see `Lane`)."""
    if not isinstance(body, dict):
        return Lane.ACK
    if _text(body.get("command")) or _text(body.get("type")) in (
        "block_actions",
        "shortcut",
        "message_action",
    ):
        return Lane.URGENT
    return Lane.ACKED if _text(body.get("type")) == "event_callback" else Lane.ACK


def signature_key(request: BoltRequest) -> str | None:
    """`sig:<timestamp>:<signature>` for signed (HTTP) requests; None over Socket Mode."""
    headers = request.headers
    signature = (headers.get("x-slack-signature") or [""])[0]
    timestamp = (headers.get("x-slack-request-timestamp") or [""])[0]
    return f"sig:{timestamp}:{signature}" if signature else None


def install(app: App, ledger: RequestLedger, executor: ListenerExecutor | None = None) -> None:
    def guard(
        request: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        delivery = delivery_key(body) if isinstance(body, dict) else None
        mark_lane(lane(body))
        if executor is not None:
            request.context["ack"] = GatedAck(executor)
        try:
            admission = ledger.admit(signature_key(request), delivery)
        except SQLAlchemyError as error:
            # Let the listener run: if it meets the database down too, the error handler
            # tells its sender plainly.
            log.warning("request_ledger_unavailable", error=type(error).__name__)
            return next()
        if admission is Admission.REPLAYED:
            log.warning("replayed_request_refused")
            return BoltResponse(status=401, body="")
        if admission is Admission.DUPLICATE:
            log.info("duplicate_delivery_ignored", kind=delivery[1] if delivery else None)
            return BoltResponse(status=200, body="")
        return next()

    app.use(guard)
