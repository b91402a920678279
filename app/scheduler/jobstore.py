"""APScheduler's persistent job store, in the application database."""

from __future__ import annotations

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Engine, MetaData

JOBS_TABLE = "apscheduler_jobs"


def reminder_job_id(incident_id: int) -> str:
    """One stable job per incident: rescheduling replaces it."""
    return f"reminder:{incident_id}"


def create_job_store(engine: Engine) -> SQLAlchemyJobStore:
    # A MetaData of its own: the table is declared (and migrated) by app.store.models, and
    # the store must not add a second definition to the application's metadata.
    return SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE, metadata=MetaData())
