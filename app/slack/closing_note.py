"""After a public incident is resolved, offer its resolver a closing note for the status page."""

from __future__ import annotations

from app.incidents.rules import Status
from app.incidents.service import Change
from app.logging import get_logger
from app.services import Services
from app.slack import update_blocks
from app.slack.gateway import SlackCallError

log = get_logger(__name__)


def offer_closing_note(services: Services, change: Change | None, user: str) -> None:
    """Only the resolver sees the offer; nothing is published until they write the note."""
    if change is None or not change.changed or not services.settings.status_page:
        return
    incident = change.incident
    if incident.status is not Status.RESOLVED or incident.is_private or not incident.channel_id:
        return
    text, message = update_blocks.closing_note_offer(incident)
    try:
        services.slack.post_ephemeral(incident.channel_id, user, text, message)
    except SlackCallError as error:
        log.warning("closing_note_offer_failed", error=error.error)
