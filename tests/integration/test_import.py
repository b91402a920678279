"""`firebreak import`: the export's round trip, idempotence, and refusal of bad files."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel, col

from app.export.delivery import write_export
from app.export.importer import ImportRefused, import_files
from app.export.people import ids_only
from app.export.schema import SCHEMA_FILE, first_problem
from app.store.database import Database
from app.store.models import (
    ActionItem,
    Incident,
    ReminderState,
    RoleAssignment,
    SlackEffect,
    StakeholderUpdate,
    TimelineEvent,
)
from app.store.numbers import allocate_incident_number
from tests.support.history import generate_history
from tests.support.scripted import scripted_incident

TEAM = "T0IMPORT"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[Database]:
    """The database imported into: empty, on each store."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def exports(tmp_path: Path) -> list[Path]:
    """JSON exports of a scripted incident and a generated history, from another database."""
    source = Database(f"sqlite:///{tmp_path}/source.db")
    source.migrate()
    generate_history(source, 6, start=datetime(2026, 1, 5, tzinfo=UTC), days=60, seed=7)
    scripted_incident(source)
    with source.session() as session:
        born_of_an_alert = session.execute(
            select(Incident).where(col(Incident.number) == 2)
        ).scalar_one()
        born_of_an_alert.detected_at = born_of_an_alert.declared_at - timedelta(minutes=9)
        born_of_an_alert.acknowledged_at = born_of_an_alert.declared_at - timedelta(minutes=4)
        filed = session.execute(select(ActionItem).order_by(col(ActionItem.id))).scalars().first()
        assert filed is not None
        filed.jira_issue_key = "OPS-42"
        ids = (
            session.execute(select(col(Incident.id)).order_by(col(Incident.number))).scalars().all()
        )
    files = []
    for incident_id in ids:
        assert incident_id is not None
        path = tmp_path / f"export-{incident_id}.json"
        path.write_text(export(source, incident_id), encoding="utf-8")
        files.append(path)
    source.dispose()
    return files


def export(db: Database, incident_id: int) -> str:
    out = io.StringIO()
    write_export(db, incident_id, "json", out, ids_only)
    return out.getvalue()


def counts(db: Database) -> dict[str, int]:
    tables = (Incident, RoleAssignment, StakeholderUpdate, ActionItem, TimelineEvent)
    with db.session() as session:
        found = {
            model.__tablename__: session.execute(
                select(func.count()).select_from(model)
            ).scalar_one()
            for model in (*tables, SlackEffect, ReminderState)
        }
        jobs = SQLModel.metadata.tables["apscheduler_jobs"]
        found["apscheduler_jobs"] = session.execute(
            select(func.count()).select_from(jobs)
        ).scalar_one()
    return {str(k): int(v) for k, v in found.items()}


def test_export_import_export_gives_the_same_documents(
    target: Database, exports: list[Path]
) -> None:
    report = import_files(target, TEAM, exports)

    assert len(report.imported) == len(exports) == 7
    with target.session() as session:
        imported = session.execute(select(Incident).order_by(col(Incident.number))).scalars().all()
    assert {i.team_id for i in imported} == {TEAM}
    assert all(i.imported_at is not None and i.setup_complete for i in imported)
    for incident, path in zip(imported, exports, strict=True):
        assert incident.id is not None
        assert export(target, incident.id) == path.read_text(encoding="utf-8")
    assert any(json.loads(p.read_text())["action_items"] for p in exports)
    assert any("detected_at" in json.loads(p.read_text())["incident"] for p in exports)
    filed = [i for p in exports for i in json.loads(p.read_text())["action_items"]]
    assert [i["jira_issue"] for i in filed if i["jira_issue"]] == ["OPS-42"]


def test_importing_twice_changes_nothing_and_makes_no_slack_work(
    target: Database, exports: list[Path]
) -> None:
    import_files(target, TEAM, exports)
    before = counts(target)

    again = import_files(target, TEAM, exports)

    assert again.imported == []
    assert len(again.unchanged) == 7
    assert counts(target) == before
    assert before["slack_effect"] == before["reminder_state"] == before["apscheduler_jobs"] == 0
    # The next incident declared in the workspace comes after the imported ones.
    with target.session() as session:
        assert allocate_incident_number(session, TEAM) == 8


def test_a_bad_file_is_refused_with_its_path_and_nothing_is_written(
    target: Database, exports: list[Path], tmp_path: Path
) -> None:
    document = json.loads(exports[3].read_text())
    document["timeline"][2]["occurred_at"] = "yesterday"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))

    with pytest.raises(ImportRefused) as refused:
        import_files(target, TEAM, [*exports[:3], bad, *exports[4:]])

    assert refused.value.file == str(bad)
    assert refused.value.path == "$.timeline[2].occurred_at"
    assert "does not match" in refused.value.problem
    assert counts(target)["incident"] == 0


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (lambda d: d.pop("schema_version"), "$", '"schema_version" is missing'),
        (lambda d: d["incident"].update(number="7"), "$.incident.number", "expected integer"),
        (lambda d: d["incident"].update(reference="INC-99"), "$.incident.reference", "INC-"),
        (lambda d: d["incident"].update(status="on fire"), "$.incident.status", "one of"),
        (lambda d: d["roles"][0].update(extra=1), "$.roles[0].extra", "not a known property"),
        (lambda d: d["roles"][0]["user"].pop("id"), "$.roles[0].user", '"id" is missing'),
        (
            lambda d: d["incident"].update(declared_at="2026-02-30T10:00:00Z"),
            "$.incident.declared_at",
            "not a time",
        ),
    ],
)
def test_each_kind_of_problem_names_its_path(
    target: Database,
    exports: list[Path],
    tmp_path: Path,
    change: Any,
    path: str,
    problem: str,
) -> None:
    document = json.loads(exports[-1].read_text())
    change(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))

    with pytest.raises(ImportRefused) as refused:
        import_files(target, TEAM, [bad])

    assert (refused.value.path, problem in refused.value.problem) == (path, True)
    assert counts(target)["incident"] == 0


def test_a_changed_file_or_a_declared_incident_is_not_overwritten(
    target: Database, exports: list[Path], tmp_path: Path
) -> None:
    import_files(target, TEAM, exports[:2])
    document = json.loads(exports[0].read_text())
    document["incident"]["title"] = "Something else"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document))
    with target.session() as session:
        allocate_incident_number(session, "T0OTHER")
    before = counts(target)

    with pytest.raises(ImportRefused, match="imported before with different content"):
        import_files(target, TEAM, [exports[2], changed])
    assert counts(target) == before

    with target.session() as session:
        session.add(
            Incident(
                team_id="T0OTHER",
                number=1,
                title="Live",
                severity="SEV2",
                highest_severity="SEV2",
                declared_by="U1",
            )
        )
    with pytest.raises(ImportRefused, match="not imported"):
        import_files(target, "T0OTHER", [exports[0]])


def test_the_checker_agrees_with_jsonschema(exports: list[Path]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert json.loads((ROOT / "docs" / "export.schema.json").read_text()) == schema
    document = json.loads(exports[-1].read_text())
    broken: list[dict[str, Any]] = []
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda d: d["incident"].update(private="no"),
        lambda d: d["incident"].update(number=0),
        lambda d: d["action_items"][0].update(owner={"id": "U1"}),
        lambda d: d["timeline"][0].update(data=[]),
        lambda d: d["stakeholder_updates"][0].update(next_update_minutes=True),
        lambda d: d.update(timeline={}),
    ]
    for mutate in mutations:
        copied = copy.deepcopy(document)
        mutate(copied)
        broken.append(copied)

    assert first_problem(document) is None
    jsonschema.validate(document, schema)
    for bad in broken:
        assert first_problem(bad) is not None
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_firebreak_import_command(exports: list[Path], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBREAK_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/cli.db"

    def firebreak(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert firebreak("migrate").returncode == 0
    assert "pass --team" in firebreak("import", str(exports[0])).stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    refused = firebreak("import", "--team", TEAM, str(exports[0]), str(bad))
    assert refused.returncode == 1
    assert f'{bad}: $: "schema_version" is missing; nothing was imported' in refused.stderr

    done = firebreak("import", "--team", TEAM, *map(str, exports))
    assert done.returncode == 0, done.stderr
    assert "imported 7 incidents into T0IMPORT" in done.stderr
    again = firebreak("import", *map(str, exports[:2]))
    assert "imported 0 incidents" in again.stderr
    assert "already imported, unchanged: INC-1, INC-2" in again.stderr
