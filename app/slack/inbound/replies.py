"""How a listener answers only the person who asked."""

from __future__ import annotations

from slack_bolt import Respond

from app.logging import get_logger
from app.services import Services
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def ephemeral(respond: Respond, text: str) -> None:
    """A reply only the presser or the command's user sees; the message pressed stays."""
    respond(response_type="ephemeral", replace_original=False, text=text)


def tell(services: Services, user_id: str, response_url: str | None, text: str) -> None:
    """Through the request's response_url when it has one that works, else in their DM."""
    if (
        response_url
        and response_url.startswith("http")
        and services.slack.respond(response_url, text)
    ):
        return
    try:
        services.slack.post(user_id, text)
    except SlackCallError as error:
        # Nobody else can be told: the reply is lost, the change (if any) is not.
        log.warning("reply_not_delivered", error=error.error)
