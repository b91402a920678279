"""`firebreak insight` over incidents declared and resolved through Slack, run as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from app.runtime import Runtime
from emulator import SlackEmulator
from tests.support.driver import SlackDriver
from tests.support.story import People, declare, incidents

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "insight.schema.json"
PNG = b"\x89PNG\r\n\x1a\n"


def _resolve(
    slack: SlackDriver, emulator: SlackEmulator, channel: str, iid: int, user: str
) -> None:
    card = emulator.messages(channel)[0]
    action = {
        "type": "static_select",
        "action_id": "set_status",
        "block_id": f"controls:{iid}",
        "selected_option": {"value": "resolved", "text": {"type": "plain_text", "text": "x"}},
    }
    assert slack.action(action, user=user, channel=channel, message=card).status == 200


def _insight(database_url: str, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBREAK_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "app", "insight", "--since", "7d", "-o", str(out), *args],
        env=env,
        cwd=out.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _declared_history(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    declare(slack, emulator, people.alice, "Checkout is down", "SEV1")
    declare(slack, emulator, people.bob, "Search is slow", "SEV3")
    declare(slack, emulator, people.alice, "Leaked token", "SEV2", private=True)
    first, second, _ = incidents(runtime.db)
    for incident in (first, second):
        assert incident.channel_id and incident.id
        _resolve(slack, emulator, incident.channel_id, incident.id, incident.declared_by)


def test_insight_reports_what_was_recorded_and_says_what_was_not(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    settings: Any,
    tmp_path: Path,
) -> None:
    _declared_history(slack, emulator, runtime, people)

    result = _insight(settings.database_url, tmp_path / "json", "--format", "json")

    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "json" / "insight.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    # The operator sees every incident, the private one too.
    assert document["incidents"]["count"] == 3
    assert document["incidents"]["by_severity"] == {"SEV1": 1, "SEV2": 1, "SEV3": 1, "SEV4": 0}
    assert document["incidents"]["open_now"] == ["INC-3"]
    resolve = document["durations"]["resolve"]
    assert (resolve["n"], resolve["not_recorded"]) == (2, 1)
    assert resolve["p90_seconds"] is None  # two incidents cannot give a 90th percentile
    assert resolve["previous_period"]["verdict"] == "not enough incidents to tell"
    # No alert and no impact start were recorded: nothing is invented.
    for name in ("detect", "acknowledge"):
        assert document["durations"][name]["n"] == 0
        assert document["durations"][name]["median_seconds"] is None
        assert document["durations"][name]["not_recorded"] == 3
    commanders = {load["user"] for load in document["responder_load"]}
    assert commanders == {people.alice, people.bob}


def test_insight_writes_markdown_with_charts_and_a_self_contained_html(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    people: People,
    settings: Any,
    tmp_path: Path,
) -> None:
    _declared_history(slack, emulator, runtime, people)

    markdown = _insight(settings.database_url, tmp_path / "md")
    html = _insight(settings.database_url, tmp_path / "html", "--format", "html")

    assert markdown.returncode == 0 and html.returncode == 0, markdown.stderr + html.stderr
    text = (tmp_path / "md" / "insight.md").read_text(encoding="utf-8")
    assert "| Time to detect | 0 | not measured | - | - | 3 |" in text
    assert "3 incidents declared in the period" in text
    for chart in ("weekly.png", "durations.png", "load.png"):
        assert f"]({chart})" in text
        assert (tmp_path / "md" / chart).read_bytes().startswith(PNG)
    page = (tmp_path / "html" / "insight.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3
    assert "Leaked token" not in page  # titles are not in the report, only references


def test_insight_refuses_a_bad_date_in_one_line(settings: Any, tmp_path: Path) -> None:
    result = _insight(settings.database_url, tmp_path / "out", "--until", "yesterday")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "firebreak: 'yesterday' is not a date like 2026-03-01 or a span like 30d"
    )


def test_stats_counts_only_what_the_requester_may_see_and_sends_the_charts_by_dm(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, people: People
) -> None:
    _declared_history(slack, emulator, runtime, people)
    emulator.reset_calls()

    general = emulator.channel_by_name("general").id
    assert slack.command("stats", user=people.carol, channel=general).status == 200
    assert slack.command("stats 90d", user=people.alice, channel=general).status == 200

    carol, alice = (r.payload["text"] for r in emulator.responses)
    # Carol is not in the private incident's channel: she sees two incidents, Alice three.
    assert carol.startswith("*Incidents in the last 30 days: 2* (0 in the 30 days before;")
    assert alice.startswith("*Incidents in the last 90 days: 3* (0 in the 90 days before;")
    assert "• Time to detect: not measured (2 not recorded)" in carol
    assert "• Time to resolve: median" in carol and "(n=2, 0 not recorded)" in carol
    assert "not enough incidents to tell" in carol
    shared = [f for f in emulator.files.values() if f.channels]
    assert len(shared) == 6
    for upload in shared:
        [dm] = upload.channels
        assert emulator.channels[dm].is_im
        assert emulator.channels[dm].im_user in (people.carol, people.alice)
        assert upload.content is not None and upload.content.startswith(PNG)


def test_stats_with_an_unknown_span_says_what_to_type(
    slack: SlackDriver, emulator: SlackEmulator, people: People
) -> None:
    general = emulator.channel_by_name("general").id

    slack.command("stats last-year", user=people.carol, channel=general)

    [reply] = [r.payload["text"] for r in emulator.responses]
    assert reply == (
        "I don't know the span `last-year`. Type `/incident stats`, `/incident stats 90d` "
        "or `/incident stats quarter`."
    )
    assert not emulator.files
