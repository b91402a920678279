"""Bolt listeners, one module per kind of Slack request; each has `register(app, services)`."""

from __future__ import annotations

from slack_bolt import App

from app.alerts import listeners as alerts
from app.services import Services
from app.slack.inbound.listeners import actions, commands, events, shortcuts, updates, views


def register(app: App, services: Services) -> None:
    for module in (commands, actions, views, events, updates, shortcuts, alerts):
        module.register(app, services)
