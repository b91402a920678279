"""The tables. Every time is a timezone-aware UTC datetime (see `UTCDateTime`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from app.store.types import UTCDateTime, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class IncidentCounter(SQLModel, table=True):
    """The last incident number handed out in a workspace (locked row, so no gaps)."""

    __tablename__ = "incident_counter"

    team_id: str = Field(primary_key=True, max_length=32)
    last_number: int = Field(default=0)


class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_incident_team_number"),
        Index("ix_incident_team_status", "team_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_type=Text())
    severity: str = Field(max_length=20)
    highest_severity: str = Field(max_length=20)
    status: str = Field(default="investigating", max_length=20)
    is_private: bool = Field(default=False)
    declared_by: str = Field(max_length=32)
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    mitigated_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())

    channel_id: str | None = Field(default=None, max_length=32, unique=True)
    channel_name: str | None = Field(default=None, max_length=80)
    card_ts: str | None = Field(default=None, max_length=32)
    announcement_channel_id: str | None = Field(default=None, max_length=32)
    announcement_ts: str | None = Field(default=None, max_length=32)
    last_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    # Closing sets when the channel is archived; archiving clears it and sets archived_at.
    archive_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), index=True)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime())

    # Declaring is a sequence of Slack calls; the names of the finished steps are kept so
    # that an interrupted declaration resumes where it stopped instead of starting over.
    setup_steps: list[str] = Field(default_factory=list, sa_type=JSON())
    # Steps begun but maybe not finished: a message-posting step found here is checked
    # against Slack before it posts again.
    setup_attempted: list[str] = Field(
        default_factory=list, sa_type=JSON(), sa_column_kwargs={"server_default": "[]"}
    )
    setup_complete: bool = Field(default=False, index=True)
    setup_error: str | None = Field(default=None, sa_type=Text())

    # Set for incidents born of alerts: the earliest linked alert's start, and the first
    # acknowledgement of one of its alert groups.
    detected_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    # Integrations (app/integrations): "triggered" or "resolved" once the on-call was
    # paged through PagerDuty, and the Statuspage incident mirroring the public updates.
    pagerduty_status: str | None = Field(default=None, max_length=20)
    statuspage_incident_id: str | None = Field(default=None, max_length=64)
    # Set for incidents loaded by `firebreak import`: history only, never shown in Slack.
    imported_at: datetime | None = Field(default=None, sa_type=UTCDateTime())

    @property
    def reference(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status not in ("resolved", "closed")


class RoleAssignment(SQLModel, table=True):
    """Who held a role and when; the current holder has no `relieved_at`."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        Index(
            "ux_role_assignment_current",
            "incident_id",
            "role",
            unique=True,
            sqlite_where=text("relieved_at IS NULL"),
            postgresql_where=text("relieved_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")], index=True
    )
    role: str = Field(max_length=40)
    user_id: str = Field(max_length=32)
    assigned_by: str = Field(max_length=32)
    assigned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    relieved_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


class TimelineEvent(SQLModel, table=True):
    """One thing that happened: who, what, when (UTC), where it came from."""

    __tablename__ = "timeline_event"
    __table_args__ = (
        Index("ix_timeline_event_incident_time", "incident_id", "occurred_at", "id"),
        # A Slack message is on an incident's timeline at most once per kind of mark.
        Index(
            "ux_timeline_event_message",
            "incident_id",
            "kind",
            "message_ts",
            unique=True,
            sqlite_where=text("message_ts IS NOT NULL"),
            postgresql_where=text("message_ts IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    incident_id: int = Field(sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")])
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    kind: str = Field(max_length=40)
    source: str = Field(max_length=20)
    actor_id: str | None = Field(default=None, max_length=32)
    text: str = Field(default="", sa_type=Text())
    original_text: str | None = Field(default=None, sa_type=Text())
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON())
    message_ts: str | None = Field(default=None, max_length=32)
    permalink: str | None = Field(default=None, max_length=500)
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    # A scribe's or commander's rewording (`text` keeps what was recorded) or strike.
    curated_text: str | None = Field(default=None, sa_type=Text())
    curated_by: str | None = Field(default=None, max_length=32)
    curated_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    struck_at: datetime | None = Field(default=None, sa_type=UTCDateTime())


class StakeholderUpdate(SQLModel, table=True):
    __tablename__ = "stakeholder_update"
    __table_args__ = (Index("ix_stakeholder_update_public", "public", "incident_id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")], index=True
    )
    status: str = Field(max_length=20)
    severity: str = Field(max_length=20)
    what_we_know: str = Field(default="", sa_type=Text())
    what_we_are_doing: str = Field(default="", sa_type=Text())
    next_update_minutes: int | None = Field(default=None)
    posted_by: str = Field(max_length=32)
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    channel_ts: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    # Chosen in the update modal: also shown on the public status page.
    public: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(
        sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")], index=True
    )
    text: str = Field(sa_type=Text())
    owner_id: str | None = Field(default=None, max_length=32)
    due_date: date | None = Field(default=None)
    state: str = Field(default="open", max_length=20)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    done_by: str | None = Field(default=None, max_length=32)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    # Filing in Jira: asked for once (a second press changes nothing), the key once made.
    jira_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    jira_issue_key: str | None = Field(default=None, max_length=40)


class ReminderState(SQLModel, table=True):
    """When the next stakeholder update is due for an open incident.

    Sending a reminder claims it with a conditional update on `next_due_at`, so only one
    replica sends it.
    """

    __tablename__ = "reminder_state"

    incident_id: int = Field(
        sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")], primary_key=True
    )
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime(), index=True)
    last_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    sent_count: int = Field(default=0)
    last_reminder_ts: str | None = Field(default=None, max_length=32)


class ProcessedRequest(SQLModel, table=True):
    """A Slack delivery already handled; its key is what Slack sends (event id, view hash...)."""

    __tablename__ = "processed_request"

    key: str = Field(primary_key=True, max_length=255)
    kind: str = Field(max_length=30)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    incident_id: int | None = Field(default=None)


class AlertGroup(SQLModel, table=True):
    """One Slack message: an Alertmanager group, or one alert from another tool.

    `version` grows with every change the message should show; the message is current
    when `rendered_version` has caught up. A notifier holding `lease_until` renders it.
    """

    __tablename__ = "alert_group"
    __table_args__ = (UniqueConstraint("source", "group_key", name="uq_alert_group_key"),)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    source: str = Field(max_length=40)
    group_key: str = Field(max_length=255)
    title: str = Field(max_length=200)
    service: str | None = Field(default=None, max_length=80)
    severity: str | None = Field(default=None, max_length=40)
    channel: str = Field(max_length=80)
    external_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())

    message_channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    version: int = Field(default=1)
    rendered_version: int = Field(default=0, index=True)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime())
    post_count: int = Field(default=0)
    edit_count: int = Field(default=0)

    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    silenced_by: str | None = Field(default=None, max_length=32)
    silenced_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    silenced_until: datetime | None = Field(default=None, sa_type=UTCDateTime())
    silenced_until_resolved: bool = Field(default=False)
    incident_id: int | None = Field(
        default=None,
        sa_column_args=[ForeignKey("incident.id", ondelete="SET NULL")],
        index=True,
    )
    linked_by: str | None = Field(default=None, max_length=32)
    # Set once, in the transaction that found an auto-declare rule matching: one incident
    # per group however often its alerts repeat.
    auto_declare_severity: str | None = Field(default=None, max_length=20)


class Alert(SQLModel, table=True):
    """One alert, identified by (source, fingerprint); repeats update it."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("source", "fingerprint", name="uq_alert_fingerprint"),)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    source: str = Field(max_length=40)
    fingerprint: str = Field(max_length=128)
    group_id: int = Field(
        sa_type=BigId,
        sa_column_args=[ForeignKey("alert_group.id", ondelete="CASCADE")],
        index=True,
    )
    title: str = Field(max_length=200)
    status: str = Field(max_length=20)
    severity: str | None = Field(default=None, max_length=40)
    service: str | None = Field(default=None, max_length=80)
    description: str = Field(default="", sa_type=Text())
    url: str | None = Field(default=None, max_length=500)
    labels: dict[str, Any] = Field(default_factory=dict, sa_type=JSON())
    started_at: datetime = Field(sa_type=UTCDateTime())
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    notifications: int = Field(default=1)


# APScheduler's job store table, declared here so that migrations own it. The columns
# match apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore, which then finds it present.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SlackEffect(SQLModel, table=True):
    """Something Slack must be told about a committed change (the outbox).

    Written in the change's transaction and carried out after the commit by any replica,
    retried until Slack accepts it or refuses it for good. Redraws have one row per
    incident and surface (`key` "card:7"): a newer change bumps `version`, so the latest
    state is drawn and an older one never overwrites it.
    """

    __tablename__ = "slack_effect"
    __table_args__ = (Index("ix_slack_effect_pending", "done_at", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    incident_id: int = Field(
        index=True, sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")]
    )
    key: str = Field(max_length=120, unique=True)
    kind: str = Field(max_length=20)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON())
    version: int = Field(default=1)
    attempts: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime())
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    error: str | None = Field(default=None, max_length=120)


class OutboundCall(SQLModel, table=True):
    """A call to an outside service (PagerDuty, Jira, Statuspage) a committed change needs.

    The same outbox pattern as `SlackEffect`, in a table of its own: written in the
    change's transaction, carried out after the incident's Slack effects by any replica
    under a renewed lease, retried with backoff until the service accepts or refuses it.
    `key` makes recording idempotent ("jira:file:12" is recorded once however often the
    button is pressed).
    """

    __tablename__ = "outbound_call"
    __table_args__ = (Index("ix_outbound_call_pending", "done_at", "next_attempt_at"),)

    id: int | None = Field(default=None, sa_type=BigId, primary_key=True)
    incident_id: int = Field(
        index=True, sa_column_args=[ForeignKey("incident.id", ondelete="CASCADE")]
    )
    key: str = Field(max_length=120, unique=True)
    service: str = Field(max_length=20)
    kind: str = Field(max_length=20)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON())
    attempts: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime())
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime())
    error: str | None = Field(default=None, max_length=200)
