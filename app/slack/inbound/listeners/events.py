"""Events API: the App Home tab, and messages people mark in incident channels."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from app.incidents.timeline import MARK_REACTION, PINNED, REACTED, Mark
from app.insight.home import home_insight
from app.services import Services
from app.slack.outbound import blocks
from app.store.types import utcnow


def register(app: App, services: Services) -> None:
    timeline = services.timeline

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return
        publish_home(services, body["team_id"], event["user"])

    @app.event("member_joined_channel")
    def member_joined(event: dict[str, Any]) -> None:
        services.incidents.forget_members(str(event.get("channel", "")))
        welcome_newcomer(services, str(event.get("channel", "")), str(event.get("user", "")))

    @app.event("member_left_channel")
    def member_left(event: dict[str, Any]) -> None:
        services.incidents.forget_members(str(event.get("channel", "")))

    @app.event("pin_added")
    def pin_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        target = _pinned_message(event)
        if target is None:
            return
        channel, ts, message = target
        timeline.mark(Mark(PINNED, channel, ts, event.get("user", ""), _key(body), message))

    @app.event("pin_removed")
    def pin_removed(event: dict[str, Any], body: dict[str, Any]) -> None:
        target = _pinned_message(event)
        if target is not None:
            timeline.unmark(PINNED, target[0], target[1], _key(body))

    @app.event("reaction_added")
    def reaction_added(event: dict[str, Any], body: dict[str, Any]) -> None:
        target = _reacted_message(event)
        if target is not None:
            channel, ts = target
            timeline.mark(Mark(REACTED, channel, ts, event.get("user", ""), _key(body)))

    @app.event("reaction_removed")
    def reaction_removed(event: dict[str, Any], body: dict[str, Any]) -> None:
        target = _reacted_message(event)
        if target is not None:
            timeline.unmark(REACTED, target[0], target[1], _key(body))

    @app.event({"type": "message", "subtype": "message_changed"})
    def message_changed(event: dict[str, Any]) -> None:
        message = event.get("message") or {}
        if not event.get("channel") or not message.get("ts"):
            return
        edited = (message.get("edited") or {}).get("ts")
        timeline.edited(event["channel"], message["ts"], message.get("text") or "", edited)

    @app.event("message")
    def other_messages() -> None:
        """Plain messages are not recorded; handled here so Bolt does not warn about them."""


def _key(body: dict[str, Any]) -> str:
    return f"event:{body.get('event_id', '')}"


def _pinned_message(event: dict[str, Any]) -> tuple[str, str, dict[str, Any]] | None:
    item = event.get("item") or {}
    if item.get("type") != "message":
        return None
    message = item.get("message") or {}
    channel = item.get("channel") or event.get("channel_id")
    ts = message.get("ts") or item.get("ts")
    if not channel or not ts:
        return None
    return str(channel), str(ts), dict(message)


def _reacted_message(event: dict[str, Any]) -> tuple[str, str] | None:
    item = event.get("item") or {}
    if event.get("reaction") != MARK_REACTION or item.get("type") != "message":
        return None
    if not item.get("channel") or not item.get("ts"):
        return None
    return str(item["channel"]), str(item["ts"])


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
