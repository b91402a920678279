"""Exports: the Markdown postmortem against a reviewed golden file, JSON against its schema."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from app.export.delivery import write_export
from app.store.database import Database
from app.store.models import ActionItem, Incident, StakeholderUpdate, TimelineEvent
from emulator import SlackEmulator
from tests.support.driver import SlackDriver
from tests.support.scripted import NAMES, scripted_incident

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "postmortem-INC-7.md"
SCHEMA = ROOT / "docs" / "export.schema.json"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    """Both stores: PostgreSQL streams the events through a server-side cursor."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


def export(db: Database, incident_id: int, fmt: str) -> str:
    out = io.StringIO()
    write_export(db, incident_id, fmt, out, lambda user: NAMES.get(user, user))
    return out.getvalue()


def test_markdown_export_matches_the_reviewed_golden_file(db: Database) -> None:
    markdown = export(db, scripted_incident(db), "markdown")

    assert markdown == GOLDEN.read_text(encoding="utf-8")


def test_json_export_validates_against_its_schema(db: Database) -> None:
    document = json.loads(export(db, scripted_incident(db), "json"))

    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert document["schema_version"] == "1.0"
    assert document["incident"]["time_to_resolve_seconds"] == 71 * 60
    assert [event["kind"] for event in document["timeline"]][:3] == [
        "declared",
        "role_assigned",
        "role_assigned",
    ]
    assert len(document["timeline"]) == 12
    pinned = next(e for e in document["timeline"] if e["kind"] == "message_pinned")
    assert pinned["original_text"] == "502s from the EU gateway"
    assert pinned["occurred_at"] == "2026-03-14T09:32:00Z"


def test_json_schema_rejects_a_document_without_its_version(db: Database) -> None:
    document = json.loads(export(db, scripted_incident(db), "json"))
    del document["schema_version"]

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))


def declare_private(slack: SlackDriver, emulator: SlackEmulator, user: str) -> Incident:
    general = emulator.channel_by_name("general").id
    slack.command("", user=user, channel=general)
    [view] = [v for v in emulator.views.values() if v.get("callback_id") == "declare_incident"]
    slack.submit(
        view,
        {
            "title": {"value": {"type": "plain_text_input", "value": "Leaked admin token"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
            "options": {
                "value": {
                    "type": "checkboxes",
                    "selected_options": [{"value": "private"}, {"value": "commander"}],
                }
            },
        },
        user=user,
    )
    with slack.runtime.db.session() as session:
        incident: Incident = session.execute(select(Incident)).scalar_one()
    assert incident.is_private and incident.channel_id
    return incident


def export_button(emulator: SlackEmulator, user: str) -> dict[str, Any]:
    home = emulator.home_view(user)
    assert home is not None
    return next(
        block["accessory"]
        for block in home["blocks"]
        if block.get("accessory", {}).get("action_id") == "export_incident"
    )


def test_a_member_exports_a_private_incident_from_the_app_home_to_their_dm(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    declare_private(slack, emulator, alice)
    slack.event({"type": "app_home_opened", "user": alice, "tab": "home", "channel": "D1"})
    button = export_button(emulator, alice)

    slack.action({"type": "button", **button}, user=alice)

    [shared] = [f for f in emulator.files.values() if f.channels]
    assert shared.name == "postmortem-INC-1.md"
    assert shared.content is not None and b"# INC-1: Leaked admin token" in shared.content
    [dm] = shared.channels
    assert emulator.channels[dm].is_im and emulator.channels[dm].im_user == alice


def test_a_non_member_cannot_export_a_private_incident(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice, bob = emulator.user_by_name("alice").id, emulator.user_by_name("bob").id
    incident = declare_private(slack, emulator, alice)
    slack.event({"type": "app_home_opened", "user": alice, "tab": "home", "channel": "D1"})
    button = export_button(emulator, alice)  # a stale or forged button in bob's hands

    slack.action({"type": "button", **button}, user=bob)

    assert not [f for f in emulator.files.values() if f.channels]
    slack.action({"type": "button", **button, "value": "999"}, user=bob)  # no such incident
    refused, missing = (m["text"] for m in emulator.messages(emulator.dm_with(bob)))
    assert refused == missing  # nothing tells an outsider that the private incident exists
    assert incident.reference not in refused and "does not exist" in refused


def test_incident_export_uploads_the_file_to_the_incident_channel(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    alice = emulator.user_by_name("alice").id
    general = emulator.channel_by_name("general").id
    slack.command("declare Broken search", user=alice, channel=general)
    with slack.runtime.db.session() as session:
        incident = session.execute(select(Incident)).scalar_one()
    channel = incident.channel_id or ""

    slack.command("export json", user=alice, channel=channel)

    assert len(emulator.calls_to("files.getUploadURLExternal")) == 1
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    [shared] = [f for f in emulator.files.values() if f.channels]
    assert (shared.name, shared.channels) == ("postmortem-INC-1.json", [channel])
    assert shared.content is not None
    document = json.loads(shared.content)
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert document["incident"]["title"] == "Broken search"


def test_cli_export_prints_the_postmortem(tmp_path: Path, sqlite_url: str) -> None:
    db = Database(sqlite_url)
    db.migrate()
    scripted_incident(db)
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBREAK_"))}
    env["DATABASE_URL"] = sqlite_url

    result = subprocess.run(
        [sys.executable, "-m", "app", "export", "INC-7", "--format", "markdown"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# INC-7: Checkout fails for EU users\n")
    assert "| 2026-03-14 09:43:00 | @UBOB | Note: Rolled back payments-api to v812 |" in (
        result.stdout
    )


def test_cli_export_asks_for_the_team_when_there_are_several(
    tmp_path: Path, sqlite_url: str
) -> None:
    db = Database(sqlite_url)
    db.migrate()
    scripted_incident(db)
    with db.session() as session:
        session.add(
            Incident(
                team_id="T0OTHER",
                number=7,
                title="Elsewhere",
                severity="SEV3",
                highest_severity="SEV3",
                declared_by="UOTHER",
            )
        )
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBREAK_"))}
    env["DATABASE_URL"] = sqlite_url

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "export", "INC-7", "--format", "json", *extra],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    ambiguous = run()
    chosen = run("--team", "T0OTHER", "-o", "out.json")

    assert ambiguous.returncode == 1
    assert "--team" in ambiguous.stderr
    assert chosen.returncode == 0, chosen.stderr
    document = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert document["incident"]["title"] == "Elsewhere"


HOSTILE = (
    "ok <img src=x onerror=alert(1)> [docs](javascript:alert(1)) `code` *bold* "
    "<script>x</script>\n## Root cause\nIt was Bob.\n  - planted\n1. step\n===\n&lt;b&gt;"
)


def test_markdown_export_shows_free_text_as_typed_never_as_markup(db: Database) -> None:
    incident_id = scripted_incident(db)
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        incident.title = HOSTILE
        incident.summary = HOSTILE
        for update in session.execute(select(StakeholderUpdate)).scalars():
            update.what_we_know = update.what_we_are_doing = HOSTILE
        for item in session.execute(select(ActionItem)).scalars():
            item.text = HOSTILE
        for event in session.execute(select(TimelineEvent)).scalars():
            event.text = event.original_text = HOSTILE
            event.permalink = "javascript:alert(1)" if event.permalink else None

    markdown = export(db, incident_id, "markdown")

    for raw in ("<img", "<script", "[docs](", "[link](javascript:", "`code`", "*bold*", "<b>"):
        assert raw not in markdown
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings.count("## Root cause") == 1  # only the template's own section
    assert not [line for line in markdown.splitlines() if line.startswith(("- planted", "1. "))]
    assert not [line for line in markdown.splitlines() if line.strip() == "==="]
    # Typed `&lt;` stays the four characters a person typed: escaped, not decoded to `<`.
    assert "&amp;lt;b&amp;gt;" in markdown
    # Each table row keeps its columns: no line of free text breaks out of a cell.
    table_rows = [line for line in markdown.splitlines() if line.startswith("| 20")]
    assert table_rows and all(line.endswith("|") for line in table_rows)
