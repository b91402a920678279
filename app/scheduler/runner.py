"""The reminder scheduler: APScheduler jobs in the database, run by the elected leader.

Every replica starts APScheduler paused, so any replica can write jobs into the shared
job store (one per incident, replaced on every reschedule); only the leader resumes it
and runs them. Besides the per-incident jobs the leader sweeps `reminder_state` every
few seconds, which catches jobs other replicas added (APScheduler does not watch the
table) and any reminder without a job. Both paths send through
`ReminderService.fire`, whose conditional UPDATE lets only one of them send. Each pass
also archives the channels of incidents closed long enough (`ClosingService`).

`tick(now)` runs the due work once, synchronously, at a chosen time: tests and the
benchmark use it instead of waiting for the background thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.incidents.closing import ClosingService
from app.incidents.ports import WorkspaceError
from app.incidents.reminders import Fired, ReminderService
from app.logging import get_logger
from app.scheduler.jobstore import create_job_store, reminder_job_id
from app.scheduler.leader import LeaderElection

log = get_logger(__name__)

SWEEP_JOB_ID = "sweep"

# The scheduler whose reminders the persisted jobs fire (jobs store a function reference,
# not an object, so they find the running scheduler here).
_active: list[ReminderScheduler] = []


def fire_reminder(incident_id: int) -> None:
    """The persisted job's function; runs on the leader."""
    if not _active:
        log.warning("reminder_job_without_scheduler", incident_id=incident_id)
        return
    _active[-1].fire(incident_id)


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]  # apscheduler is untyped
    """APScheduler, hardened for a job store other processes write to.

    - No job processing unless running: on shutdown APScheduler runs one more pass after
      its executors stopped, which would drop due jobs a paused follower never ran.
    - Another replica may delete or replace a job while this one processes it; a job
      already gone is not an error worth killing the scheduler thread for.
    """

    def _process_jobs(self) -> float | None:
        if self.state != STATE_RUNNING:
            return None
        try:
            wait: float | None = super()._process_jobs()
        except Exception as error:  # keep the scheduler thread alive; retry shortly
            log.warning("scheduler_pass_failed", error=str(error))
            return float(self.jobstore_retry_interval)
        return wait

    def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
        with contextlib.suppress(JobLookupError):
            super().remove_job(job_id, jobstore)


class ReminderJobs:
    """The reminder jobs in the database job store: any replica writes them (this is the
    use cases' `ReminderSchedule`), only the leader's `ReminderScheduler` runs them."""

    def __init__(self, engine: Engine, *, workers: int | None = None) -> None:
        single_writer = engine.dialect.name == "sqlite"
        self.workers = workers or (1 if single_writer else 8)
        self.scheduler = _Scheduler(
            jobstores={"default": create_job_store(engine), "local": MemoryJobStore()},
            executors={"default": JobExecutor(self.workers)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )
        self.started = False

    def schedule(self, incident_id: int, due: datetime | None) -> None:
        """Place, move or drop the incident's job; the sweep covers any failure here."""
        if not self.started:
            return
        job_id = reminder_job_id(incident_id)
        try:
            if due is None:
                self.scheduler.remove_job(job_id, jobstore="default")
            else:
                self.scheduler.add_job(
                    fire_reminder,
                    "date",
                    run_date=due,
                    args=[incident_id],
                    id=job_id,
                    jobstore="default",
                    replace_existing=True,
                )
        except SQLAlchemyError as error:
            log.warning("reminder_job_not_stored", incident_id=incident_id, error=str(error))


class ReminderScheduler:
    def __init__(
        self,
        jobs: ReminderJobs,
        reminders: ReminderService,
        engine: Engine,
        *,
        clock: Callable[[], datetime] | None = None,
        sweep_seconds: float = 2.0,
        election_seconds: float = 2.0,
        closing: ClosingService | None = None,
    ) -> None:
        self.jobs = jobs
        self.reminders = reminders
        self.closing = closing
        self.engine = engine
        self.clock = clock or reminders.clock
        self.sweep_seconds = sweep_seconds
        self.election_seconds = election_seconds
        self.workers = jobs.workers
        self.election = LeaderElection(engine)
        self.scheduler = jobs.scheduler
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="reminder")
        self._stop = threading.Event()
        self._sweeping = threading.Lock()
        self._thread: threading.Thread | None = None
        self._leading = False

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self._leading

    def start(self) -> None:
        """Start following; take the lead as soon as the election allows."""
        self.scheduler.start(paused=True)
        self.jobs.started = True
        _active.append(self)
        self._thread = threading.Thread(target=self._elect, name="scheduler-election", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if not self.jobs.started:
            self._pool.shutdown(wait=True)
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.scheduler.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        self.election.release()
        if self in _active:
            _active.remove(self)
        self.jobs.started = False
        self._leading = False
        log.info("scheduler_stopped")

    def _elect(self) -> None:
        while not self._stop.is_set():
            leads = self.election.try_acquire()
            if leads and not self._leading:
                self._lead()
            elif not leads and self._leading:
                self._follow()
            self._stop.wait(self.election_seconds)

    def _lead(self) -> None:
        self._leading = True
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_seconds,
            id=SWEEP_JOB_ID,
            jobstore="local",
            replace_existing=True,
            next_run_time=datetime.now(UTC),
            max_instances=2,  # a long sweep makes the next one return at once, not warn
        )
        self.scheduler.resume()
        log.info("scheduler_leading")

    def _follow(self) -> None:
        self._leading = False
        self.scheduler.pause()
        self.scheduler.remove_job(SWEEP_JOB_ID, jobstore="local")
        log.warning("scheduler_lost_leadership")

    # --- running due work ---------------------------------------------------------------

    def fire(self, incident_id: int, now: datetime | None = None) -> Fired | None:
        try:
            return self.reminders.fire(incident_id, now or self.clock())
        except (WorkspaceError, SQLAlchemyError) as error:
            # The claim was rolled back or put back; the next sweep retries.
            log.warning("reminder_not_sent", incident_id=incident_id, error=str(error))
            return None

    def sweep(self) -> None:
        if not self._sweeping.acquire(blocking=False):
            return
        try:
            self.tick(self.clock())
        finally:
            self._sweeping.release()

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """Send every reminder due at `now` (default: the clock) and archive the channels
        of incidents closed long enough; returns the reminders sent."""
        at = now or self.clock()
        due = self.reminders.due(at)
        results = list(self._pool.map(lambda incident_id: self.fire(incident_id, at), due))
        self._archive(at)
        return [fired for fired in results if fired is not None]

    def _archive(self, now: datetime) -> None:
        if self.closing is None:
            return
        try:
            self.closing.archive_due(now)
        except SQLAlchemyError as error:
            log.warning("archive_pass_failed", error=str(error))
