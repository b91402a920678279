"""Events API: the App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from app.services import Services
from app.slack import blocks
from app.store.types import utcnow


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home":
            return
        publish_home(services, body["team_id"], event["user"])


def publish_home(services: Services, team_id: str, user_id: str) -> None:
    incidents = services.incidents.visible_open_incidents(team_id, user_id)
    mine = services.incidents.roles_of(team_id, user_id)
    visible_mine = [(i, role) for i, role in mine if services.incidents.can_see(i, user_id)]
    services.slack.publish_home(user_id, blocks.home_view(incidents, visible_mine, utcnow()))
