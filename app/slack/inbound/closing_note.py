"""After a public incident is resolved, offer its resolver a closing note for the status page."""

from __future__ import annotations

from app.incidents.rules import Status
from app.incidents.service import Change
from app.logging import get_logger
from app.services import Services
from app.slack.outbound import update_blocks
from app.slack.outbound.gateway import SlackCallError

log = get_logger(__name__)


def _offered(services: Services, change: Change | None) -> bool:
    if change is None or not change.changed or not services.settings.status_page:
        return False
    incident = change.incident
    return incident.status is Status.RESOLVED and not incident.is_private


def offer_closing_note(services: Services, change: Change | None, user: str) -> None:
    """Only the resolver sees the offer; nothing is published until they write the note.
    Calls Slack: only after the ack."""
    if change is None or not _offered(services, change) or not change.incident.channel_id:
        return
    incident = change.incident
    text, message = update_blocks.closing_note_offer(incident)
    try:
        services.slack.post_ephemeral(incident.channel_id or "", user, text, message)
    except SlackCallError as error:
        log.warning("closing_note_offer_failed", error=error.error)


def closing_note_hint(services: Services, change: Change | None) -> str | None:
    """For a command, whose replies are text sent after its ack."""
    if change is None or not _offered(services, change):
        return None
    return (
        "Tell status page readers how it ended: `/incident update`, status Resolved, "
        "with “Also publish on the status page” ticked."
    )
