"""Check manifest.yml against what the code uses and, when present, Slack's JSON Schema.

    python -m app.manifest_check [--schema-dir ../shared/reference/slack]

The code checks (scopes and events) need nothing outside the repository and run in the
test suite too; the schema check needs Slack's published `manifest.schema.*.json`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from emulator.methods import METHODS

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "manifest.yml"
GATEWAY = ROOT / "app" / "slack" / "outbound" / "gateway.py"
DEFAULT_SCHEMA_DIR = ROOT.parent / "shared" / "reference" / "slack"

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
# slack_sdk helpers that call more than one Web API method.
COMPOSITE_METHODS = {
    "files.uploadV2": ("files.getUploadURLExternal", "files.completeUploadExternal"),
}
REQUIRED_KEYS = (
    ("display_information", "name"),
    ("features", "bot_user", "display_name"),
    ("oauth_config", "scopes", "bot"),
    ("settings", "interactivity", "is_enabled"),
    ("settings", "event_subscriptions", "bot_events"),
)


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def gateway_methods(source: Path = GATEWAY) -> set[str]:
    """The Web API methods the gateway calls, expanded to what Slack sees."""
    named = set(re.findall(r'_calling\("([a-zA-Z.]+[A-Za-z0-9]*)"\)', source.read_text()))
    methods: set[str] = set()
    for name in named:
        methods.update(COMPOSITE_METHODS.get(name, (name,)))
    return methods


def _dig(manifest: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = manifest
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def code_problems(manifest: dict[str, Any], methods: set[str] | None = None) -> list[str]:
    """Required keys, scopes the code needs but lacks, scopes nothing uses, unknown events."""
    problems = [
        f"missing {'.'.join(path)}" for path in REQUIRED_KEYS if _dig(manifest, path) is None
    ]
    scopes = set(_dig(manifest, ("oauth_config", "scopes", "bot")) or [])
    events = set(_dig(manifest, ("settings", "event_subscriptions", "bot_events")) or [])
    used: set[str] = set()
    for method in sorted(methods if methods is not None else gateway_methods()):
        spec = METHODS.get(method)
        if spec is None:
            problems.append(f"{method}: unknown Web API method (add it to the emulator)")
            continue
        if spec.scopes and not scopes.intersection(spec.scopes):
            problems.append(f"{method} needs one of {', '.join(spec.scopes)}")
        used.update(spec.scopes)
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
    problems += [f"scope {scope} is declared but nothing uses it" for scope in scopes - used]
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
