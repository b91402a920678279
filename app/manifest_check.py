"""Check manifest.yml against what the code uses and, when present, Slack's JSON Schema.

    python -m app.manifest_check [--schema-dir ../shared/reference/slack]

The code checks (methods, scopes and events) need nothing outside the repository and run
in the test suite too; the schema check needs Slack's published `manifest.schema.*.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "manifest.yml"
APP = ROOT / "app"
DEFAULT_SCHEMA_DIR = ROOT.parent / "shared" / "reference" / "slack"

# Every Web API method Firebreak calls with its bot token, and the bot scopes it needs for
# the way Firebreak calls it, all of them: each is one of the scopes the method's reference
# page (docs.slack.dev/reference/methods/...) accepts. Incident channels are public or
# private, so a conversations.* method needs its scope for both kinds; conversations.open
# opens a direct message; conversations.join joins public channels only.
WEB_API: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "bookmarks.add": ("bookmarks:write",),
    "bookmarks.list": ("bookmarks:read",),
    "chat.getPermalink": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "conversations.archive": ("channels:manage", "groups:write"),
    "conversations.create": ("channels:manage", "groups:write"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.invite": ("channels:manage", "groups:write"),
    "conversations.join": ("channels:join",),
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.members": ("channels:read", "groups:read"),
    "conversations.open": ("im:write",),
    "conversations.replies": ("channels:history", "groups:history"),
    "conversations.setTopic": ("channels:manage", "groups:write"),
    "conversations.unarchive": ("channels:manage", "groups:write"),
    "files.completeUploadExternal": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "pins.add": ("pins:write",),
    "users.info": ("users:read",),
    "views.open": (),
    "views.publish": (),
}
# slack_sdk's Socket Mode client calls this one itself, with the app-level token and its
# connections:write scope (an app-level scope, not in the manifest's bot scopes).
SOCKET_MODE_METHOD = "apps.connections.open"

# The bot scope each subscribed event needs (Slack's event reference pages).
EVENT_SCOPES: dict[str, str | None] = {
    "app_home_opened": None,
    "member_joined_channel": "channels:read",
    "member_left_channel": "channels:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "pin_added": "pins:read",
    "pin_removed": "pins:read",
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
}
# slack_sdk helpers that call other Web API methods than their name says.
SDK_HELPERS = {
    "files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal"),
}
REQUIRED_KEYS = (
    ("display_information", "name"),
    ("features", "bot_user", "display_name"),
    ("oauth_config", "scopes", "bot"),
    ("settings", "interactivity", "is_enabled"),
    ("settings", "event_subscriptions", "bot_events"),
)
_ATTRIBUTE_CALL = re.compile(r"\.([a-z]+(?:_[A-Za-z0-9]+)+)\(")
_API_CALL = re.compile(r"\bapi_call\(\s*[\"']([A-Za-z0-9.]+)[\"']")


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def code_methods(package: Path = APP) -> set[str]:
    """The Web API methods the code under `package` calls through slack_sdk's WebClient
    (`client.<method_name>(...)` or `client.api_call("<method>")`), as Slack names them."""
    client_methods = {name for name in vars(WebClient) if not name.startswith("_")}
    methods: set[str] = set()
    for source in package.rglob("*.py"):
        text = source.read_text()
        methods.update(_API_CALL.findall(text))
        for name in _ATTRIBUTE_CALL.findall(text):
            if name in client_methods:
                methods.update(SDK_HELPERS.get(name, (name.replace("_", "."),)))
    return methods


def _dig(manifest: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = manifest
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def code_problems(manifest: dict[str, Any], methods: set[str] | None = None) -> list[str]:
    """Required keys, methods WEB_API does not list (or lists but nothing calls), scopes
    the code needs but lacks, scopes nothing uses, unknown events."""
    problems = [
        f"missing {'.'.join(path)}" for path in REQUIRED_KEYS if _dig(manifest, path) is None
    ]
    scopes = set(_dig(manifest, ("oauth_config", "scopes", "bot")) or [])
    events = set(_dig(manifest, ("settings", "event_subscriptions", "bot_events")) or [])
    called = methods if methods is not None else code_methods()
    problems += [
        f"{method}: the code calls it but WEB_API does not list it (add it with its scopes)"
        for method in sorted(called - set(WEB_API))
    ]
    problems += [
        f"{method}: WEB_API lists it but nothing calls it"
        for method in sorted(set(WEB_API) - called)
    ]
    used: set[str] = set()
    for method in sorted(called & set(WEB_API)):
        used.update(WEB_API[method])
        problems += [f"{method} needs {scope}" for scope in WEB_API[method] if scope not in scopes]
    for event in sorted(events):
        if event not in EVENT_SCOPES:
            problems.append(f"event {event}: unknown here (add it to EVENT_SCOPES)")
            continue
        needed = EVENT_SCOPES[event]
        if needed is not None:
            used.add(needed)
            if needed not in scopes:
                problems.append(f"event {event} needs {needed}")
    problems += _shortcut_problems(manifest)
    if _dig(manifest, ("features", "slash_commands")) or _dig(manifest, ("features", "shortcuts")):
        used.add("commands")
        if "commands" not in scopes:
            problems.append("slash commands and shortcuts need the commands scope")
    problems += [
        f"scope {scope} is declared but nothing uses it" for scope in sorted(scopes - used)
    ]
    return problems


def _shortcut_problems(manifest: dict[str, Any]) -> list[str]:
    """Each shortcut the listeners handle is declared with its type, and no other."""
    from app.slack.outbound.blocks import SHORTCUTS

    declared = {
        str(item.get("callback_id")): str(item.get("type"))
        for item in _dig(manifest, ("features", "shortcuts")) or []
        if isinstance(item, dict)
    }
    problems = [
        f"shortcut {callback_id} ({kind}) is handled but not declared"
        for callback_id, kind in SHORTCUTS.items()
        if declared.get(callback_id) != kind
    ]
    problems += [f"shortcut {c} has no listener" for c in declared if c not in SHORTCUTS]
    return problems


def schema_problems(manifest: dict[str, Any], schema_dir: Path) -> list[str]:
    import jsonschema  # type: ignore[import-untyped]

    major = _dig(manifest, ("_metadata", "major_version")) or 1
    schema_path = schema_dir / f"manifest.schema.{major}.0.0.json"
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"schema: {'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.manifest_check", description=__doc__)
    parser.add_argument("--schema-dir", type=Path, default=DEFAULT_SCHEMA_DIR)
    args = parser.parse_args(argv)
    manifest = load_manifest()
    problems = code_problems(manifest)
    if not args.schema_dir.is_dir():
        problems.append(f"no Slack manifest schema in {args.schema_dir} (pass --schema-dir)")
    else:
        problems += schema_problems(manifest, args.schema_dir)
    for problem in problems:
        print(f"manifest.yml: {problem}", file=sys.stderr)
    if not problems:
        print("manifest.yml: OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
