"""Builders for request bodies shaped like the ones Slack sends."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

APP_ID = "A0FIREBREAK"
_sequence = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_sequence):08d}"


def slash_command(
    *,
    team_id: str,
    user_id: str,
    channel_id: str,
    text: str = "",
    trigger_id: str,
    response_url: str,
    command: str = "/incident",
    channel_name: str = "general",
    user_name: str = "responder",
) -> dict[str, str]:
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": "firebreak-test",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_actions(
    *,
    team_id: str,
    user_id: str,
    actions: list[dict[str, Any]],
    trigger_id: str,
    response_url: str | None = None,
    channel_id: str | None = None,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action_ts = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "firebreak-test"},
        "user": {"id": user_id, "username": "responder", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id,
        "actions": [{"action_ts": action_ts, **action} for action in actions],
    }
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": "channel"}
        payload["container"] = {
            "type": "message",
            "channel_id": channel_id,
            "message_ts": (message or {}).get("ts", ""),
            "is_ephemeral": False,
        }
    if message is not None:
        payload["message"] = message
    if response_url is not None:
        payload["response_url"] = response_url
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view.get("id")}
    return payload


def global_shortcut(
    *, team_id: str, user_id: str, callback_id: str, trigger_id: str
) -> dict[str, Any]:
    return {
        "type": "shortcut",
        "token": "deprecated-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": "firebreak-test"},
        "user": {"id": user_id, "username": "responder", "team_id": team_id},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }


def message_action(
    *,
    team_id: str,
    user_id: str,
    callback_id: str,
    trigger_id: str,
    response_url: str,
    channel_id: str,
    message: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "token": "deprecated-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": "firebreak-test"},
        "user": {"id": user_id, "username": "responder", "team_id": team_id, "name": "responder"},
        "channel": {"id": channel_id, "name": "channel"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.get("ts", ""),
        "message": message,
    }


def view_submission(
    *,
    team_id: str,
    user_id: str,
    view: dict[str, Any],
    values: dict[str, dict[str, Any]],
    view_id: str | None = None,
    view_hash: str | None = None,
) -> dict[str, Any]:
    """`values` maps block_id -> action_id -> value dict, as in Slack's view state."""
    submitted = {
        **view,
        "id": view_id or _next_id("V"),
        "hash": view_hash or _next_id("h"),
        "team_id": team_id,
        "state": {"values": values},
        "app_id": APP_ID,
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "firebreak-test"},
        "user": {"id": user_id, "username": "responder", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": _next_id("trigger-"),
        "view": submitted,
        "response_urls": [],
    }


def event_callback(
    event: dict[str, Any], *, team_id: str, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or _next_id("Ev"),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team_id, "is_bot": True}],
    }


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def interactive_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()
