"""Runs reminders on time: leader election, the persistent job store, the runner."""

from app.scheduler.runner import ReminderJobs, ReminderScheduler

__all__ = ["ReminderJobs", "ReminderScheduler"]
