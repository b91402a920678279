"""The one place where a failed request becomes what its sender is told.

Listeners do not catch errors. Each is registered as `answered(listener)`, which hands
whatever it raises to the `ErrorTranslator`, on the listener's own thread:

- a user's mistake (`IncidentError`), the database being unreachable (`SQLAlchemyError`)
  or Slack refusing a call (`SlackCallError`) is answered by the kind of request: a modal
  submission not yet acknowledged gets the message inline, on the form's first input; a
  command, a button on a message or a message shortcut gets it ephemerally through its
  response_url; anything else (an App Home button, a global shortcut, a form already
  acknowledged) in the person's DM; an event is only logged. A request not yet
  acknowledged is acknowledged here, so a listener that records before its ack still
  acks exactly once;
- a payload without a field its listener needs (`MalformedPayload`) is logged in one line;
- anything else is a bug: logged with its traceback (never shown in Slack) and counted.

Before the ack, the last two are raised on to Bolt's error handler (`app.error`), the one
place that can still answer Slack's HTTP request with a 400. After the ack they must not
reach Bolt: its listener runner clears an ack when a listener raises after it, and the
request would then wait out Bolt's 3 s ack timeout. Middleware errors reach `app.error`
too. When a request fails before its ack, its delivery claim is released, so that Slack's
retry, or the same form submitted again, is handled rather than taken for a duplicate.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_sdk.errors import SlackClientError
from sqlalchemy.exc import SQLAlchemyError

from app.incidents.errors import IncidentError
from app.logging import get_logger
from app.metrics import Metrics
from app.services import Services
from app.slack.inbound.guard import delivery_key
from app.slack.inbound.payloads import MalformedPayload, input_blocks, on_message, sender
from app.slack.inbound.replies import ephemeral, tell
from app.slack.outbound import blocks
from app.slack.outbound.gateway import SlackCallError
from app.store.idempotency import RequestLedger

log = get_logger(__name__)

ANSWERED = (IncidentError, SQLAlchemyError, SlackCallError)
# What `answered` can pass a listener.
OFFERED = frozenset({"ack", "body", "respond", "context", "services"})


class Kind(Enum):
    COMMAND = "command"
    ACTION = "action"
    VIEW = "view"
    SHORTCUT = "shortcut"
    EVENT = "event"
    OTHER = "other"


_KINDS = {
    "block_actions": Kind.ACTION,
    "view_submission": Kind.VIEW,
    "shortcut": Kind.SHORTCUT,
    "message_action": Kind.SHORTCUT,
    "event_callback": Kind.EVENT,
}


def kind_of(body: Mapping[str, Any]) -> Kind:
    if isinstance(body.get("command"), str):
        return Kind.COMMAND
    kind = body.get("type")
    return _KINDS.get(kind, Kind.OTHER) if isinstance(kind, str) else Kind.OTHER


def reason(error: Exception, body: Mapping[str, Any]) -> str:
    """What the person who asked is told; never a traceback."""
    if isinstance(error, IncidentError):
        return str(error)
    if isinstance(error, SQLAlchemyError):
        return blocks.DATABASE_DOWN
    if isinstance(error, SlackCallError) and error.method == "views.open":
        if kind_of(body) is Kind.COMMAND and not str(body.get("text") or "").strip():
            return (
                f"Slack did not open the form ({error.error}). Type `/incident declare <title>`"
                " to declare without it."
            )
        return f"Slack did not open the form ({error.error}); try again in a moment."
    if isinstance(error, SlackCallError):
        return (
            f"Slack did not accept that just now ({error.error}). Nothing was lost; try again "
            "in a moment."
        )
    raise TypeError(f"no reply for {type(error).__name__}")


def field_errors(checks: Mapping[str, Callable[[], object]]) -> dict[str, str]:
    """Run each form field's check; the message of each one that refuses, by block id.

    `checks` maps a block id to a callable that raises `IncidentError` when its field is
    not acceptable.
    """
    errors: dict[str, str] = {}
    for block_id, check in checks.items():
        try:
            check()
        except IncidentError as error:
            errors[block_id] = str(error)
    return errors


def answer(
    error: Exception,
    body: Mapping[str, Any],
    ack: Ack,
    respond: Respond | None,
    services: Services | None,
) -> None:
    """Tell the sender why their request failed, acking it first if it was not yet."""
    kind = kind_of(body)
    _log(error, kind)
    if kind in (Kind.EVENT, Kind.OTHER):
        return
    text = reason(error, body)
    inputs = input_blocks(body) if kind is Kind.VIEW else ()
    if inputs and ack.response is None:
        ack(response_action="errors", errors={inputs[0]: text})
        return
    if ack.response is None:
        ack()
    in_place = kind in (Kind.COMMAND, Kind.SHORTCUT) or (kind is Kind.ACTION and on_message(body))
    if in_place and respond is not None and respond.response_url:
        try:
            ephemeral(respond, text)
        except (SlackClientError, OSError) as failure:
            log.warning("reply_not_delivered", error=type(failure).__name__)
    elif services is not None and sender(body):
        tell(services, sender(body), None, text)


class ErrorTranslator:
    """Answers what listeners raise (see the module's docstring); one per Bolt app."""

    def __init__(self, ledger: RequestLedger, metrics: Metrics) -> None:
        self.ledger = ledger
        self.metrics = metrics

    def listener_failed(self, error: Exception, body: dict[str, Any], context: BoltContext) -> bool:
        """Answer what a listener raised; False when Bolt must answer it (with a 400)."""
        before_ack = context.ack.response is None
        if isinstance(error, ANSWERED):
            answer(error, body, context.ack, context.respond, context.get("services"))
        elif before_ack:
            return False
        else:
            self._log_failure(error, body)
        if before_ack:
            self._release(body)
        return True

    def bolt_error(
        self, error: Exception, body: dict[str, Any], response: BoltResponse | None
    ) -> BoltResponse | None:
        """Bolt's error handler: a listener failed before its ack, or a middleware did."""
        self._log_failure(error, body)
        self._release(body)
        # Bolt gives no response to fill when the request was acknowledged already.
        return BoltResponse(status=400, body="") if response is not None else None

    def _log_failure(self, error: Exception, body: dict[str, Any]) -> None:
        if isinstance(error, MalformedPayload):
            log.warning("malformed_payload", kind=kind_of(body).value, reason=str(error))
            return
        log.error("listener_failed", error=type(error).__name__, exc_info=error)
        self.metrics.listener_errors.inc()

    def _release(self, body: dict[str, Any]) -> None:
        delivery = delivery_key(body)
        if delivery is None:
            return
        try:
            self.ledger.release(delivery[0])
        except SQLAlchemyError:
            log.warning("request_ledger_unavailable")


def answered(listener: Callable[..., None]) -> Callable[..., None]:
    """`listener` as registered with Bolt: what it raises goes to the `ErrorTranslator`.

    Bolt passes a listener the arguments it names; this passes `listener` the ones it
    names of `ack`, `body`, `respond`, `context` and `services` (from the context).
    """
    wanted = tuple(inspect.signature(listener).parameters)
    if unknown := set(wanted) - OFFERED:
        raise TypeError(f"{listener.__name__} names arguments it cannot be given: {unknown}")

    def run(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        offered = {
            "ack": ack,
            "body": body,
            "respond": context.respond,
            "context": context,
            "services": context.get("services"),
        }
        try:
            listener(**{name: offered[name] for name in wanted})
        except Exception as error:
            translator: ErrorTranslator = context["errors"]
            if not translator.listener_failed(error, body, context):
                raise

    run.__name__ = run.__qualname__ = listener.__name__
    return run


def install(app: App, ledger: RequestLedger, metrics: Metrics) -> None:
    """Put the translator in every request's context, and make it Bolt's error handler."""
    translator = ErrorTranslator(ledger, metrics)

    def with_translator(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context["errors"] = translator
        return next()

    app.use(with_translator)
    app.error(translator.bolt_error)


def _log(error: Exception, kind: Kind) -> None:
    if isinstance(error, SQLAlchemyError):
        log.warning("database_unavailable", kind=kind.value, error=type(error).__name__)
    elif isinstance(error, SlackCallError):
        log.warning("slack_call_failed", kind=kind.value, method=error.method, error=error.error)
    else:
        log.info("request_refused", kind=kind.value, error=type(error).__name__)
