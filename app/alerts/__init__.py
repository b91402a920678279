"""Alerts from monitoring: intake, deduplication, grouping, and the way to incidents."""
