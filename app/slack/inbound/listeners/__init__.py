"""Bolt listeners, one module per kind of Slack request; each has `register(app)`.

Listeners are plain functions. Bolt passes them what they name: `ack`, `respond`, `body`,
and `services`, which the app's middleware puts in every request's context. They raise
rather than catch; `app.slack.inbound.errors` tells the sender.
"""

from __future__ import annotations

from slack_bolt import App

from app.slack.inbound.listeners import (
    actions,
    alerts,
    commands,
    events,
    shortcuts,
    updates,
    views,
)


def register(app: App) -> None:
    for module in (commands, actions, views, events, updates, shortcuts, alerts):
        module.register(app)
