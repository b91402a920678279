"""The Bolt app: Slack's requests in, listeners registered, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from app.config import Settings
from app.logging import bind_request, clear_request, get_logger, silence_bolt_body_logging
from app.services import Services
from app.slack.inbound import errors, guard, listeners
from app.slack.inbound.executor import ListenerExecutor
from app.slack.inbound.identity import BotIdentity
from app.store.idempotency import RequestLedger

log = get_logger(__name__)


def create_bolt_app(
    settings: Settings,
    services: Services,
    client: WebClient,
    executor: ListenerExecutor,
    identity: BotIdentity,
) -> App:
    signing_secret = settings.slack_signing_secret
    app = App(
        # Bolt makes each request's client from this one with the token `authorize` gives;
        # leaving the token off here keeps Bolt from warning that it ignores it.
        client=WebClient(
            base_url=client.base_url, timeout=client.timeout, retry_handlers=client.retry_handlers
        ),
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # Socket Mode requests arrive over an authenticated websocket, unsigned.
        request_verification_enabled=signing_secret is not None,
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=executor,
        raise_error_for_unhandled_request=False,
        # No Web API call before ack(): the bot is identified in the background.
        authorize=identity.authorizer(),
    )
    silence_bolt_body_logging()
    ledger = RequestLedger(services.db)
    app.use(_log_context)
    app.use(_with_services(services))
    errors.install(app, ledger, services.metrics)
    guard.install(app, ledger, executor)
    listeners.register(app)
    return app


def _with_services(services: Services) -> Callable[..., BoltResponse]:
    """Listeners and the error translator take `services` from the request's context."""

    def with_services(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        context["services"] = services
        return next()

    return with_services


def _log_context(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse:
    clear_request()
    bind_request(
        slack_request=slack_request_id(body),
        team=(body.get("team") or {}).get("id")
        if isinstance(body.get("team"), dict)
        else body.get("team_id"),
    )
    return next()


def slack_request_id(body: dict[str, Any]) -> str | None:
    """The id Slack gives this delivery: event id, view id, trigger id or action ts."""
    if "event_id" in body:
        return str(body["event_id"])
    if "view" in body and body.get("type") == "view_submission":
        return str(body["view"].get("id"))
    actions = body.get("actions") or []
    if actions:
        return str(actions[0].get("action_ts"))
    trigger = body.get("trigger_id")
    return str(trigger) if trigger else None
