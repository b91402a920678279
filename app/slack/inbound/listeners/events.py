"""Events API: the App Home tab, and messages people mark in incident channels.

Bolt acks events before their listener runs; a failure is logged, never shown.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from app.incidents.timeline import MARK_REACTION, PINNED, REACTED, Mark
from app.insight.home import home_insight
from app.services import Services
from app.slack.inbound import payloads
from app.slack.inbound.errors import answered
from app.slack.outbound import blocks
from app.store.types import utcnow


def register(app: App) -> None:
    app.event("app_home_opened")(answered(home_opened))
    app.event("member_joined_channel")(answered(member_joined))
    app.event("member_left_channel")(answered(member_left))
    app.event("pin_added")(answered(pin_added))
    app.event("pin_removed")(answered(pin_removed))
    app.event("reaction_added")(answered(reaction_added))
    app.event("reaction_removed")(answered(reaction_removed))
    app.event({"type": "message", "subtype": "message_changed"})(answered(message_changed))
    app.event("message")(answered(other_messages))


def home_opened(body: dict[str, Any], services: Services) -> None:
    event = payloads.event(body)
    if event.fields.get("tab") == "home" and event.user_id:
        publish_home(services, event.team_id, event.user_id)


def member_joined(body: dict[str, Any], services: Services) -> None:
    event = payloads.event(body)
    services.incidents.forget_members(event.channel_id)
    welcome_newcomer(services, event.channel_id, event.user_id)


def member_left(body: dict[str, Any], services: Services) -> None:
    services.incidents.forget_members(payloads.event(body).channel_id)


def pin_added(body: dict[str, Any], services: Services) -> None:
    event = payloads.event(body)
    pinned = payloads.pinned_message(event)
    if pinned is not None:
        mark = Mark(
            PINNED,
            pinned.channel_id,
            pinned.ts,
            event.user_id,
            event.request_key,
            dict(pinned.message),
        )
        services.timeline.mark(mark)


def pin_removed(body: dict[str, Any], services: Services) -> None:
    event = payloads.event(body)
    pinned = payloads.pinned_message(event)
    if pinned is not None:
        services.timeline.unmark(PINNED, pinned.channel_id, pinned.ts, event.request_key)


def reaction_added(body: dict[str, Any], services: Services) -> None:
    event = payloads.event(body)
    reacted = payloads.reacted_message(event, MARK_REACTION)
    if reacted is not None:
        mark = Mark(REACTED, reacted.channel_id, reacted.ts, event.user_id, event.request_key)
        services.timeline.mark(mark)


def reaction_removed(body: dict[str, Any], services: Services) -> None:
    event = payloads.event(body)
    reacted = payloads.reacted_message(event, MARK_REACTION)
    if reacted is not None:
        services.timeline.unmark(REACTED, reacted.channel_id, reacted.ts, event.request_key)


def message_changed(body: dict[str, Any], services: Services) -> None:
    edit = payloads.edited_message(payloads.event(body))
    if edit is not None:
        services.timeline.edited(edit.channel_id, edit.ts, edit.text, edit.edited_ts)


def other_messages() -> None:
    """Plain messages are not recorded; handled here so Bolt does not warn about them."""


def publish_home(services: Services, team_id: str, user_id: str) -> None:
    incidents = services.incidents.visible_open_incidents(team_id, user_id)
    mine = services.incidents.roles_of(team_id, user_id)
    visible_mine = [(i, role) for i, role in mine if services.incidents.can_see(i, user_id)]
    recent = services.incidents.visible_recent_incidents(team_id, user_id)
    refused = services.notifier.refused(incident.id for incident in incidents)
    insight = home_insight(services, team_id, user_id)
    services.slack.publish_home(
        user_id,
        blocks.home_view(
            incidents,
            visible_mine,
            utcnow(),
            recent=recent,
            refused=refused,
            numbers=insight.lines,
            overdue=insight.overdue,
        ),
    )


def welcome_newcomer(services: Services, channel_id: str, user_id: str) -> None:
    """Someone joined an incident channel: tell them, and only them, where things stand."""
    incident = services.incidents.for_channel(channel_id)
    if incident is None or not user_id or user_id == services.slack.bot_user_id():
        return
    latest = services.incidents.latest_update_line(incident.id)
    bridge = blocks.bridge_link(services.settings.bridge_url, incident)
    text, welcome = blocks.welcome(incident, services.settings.roles, latest, bridge)
    services.slack.post_ephemeral(channel_id, user_id, text, welcome)
