"""Addresses on the status page, shared with the Slack side that links to it."""

from __future__ import annotations


def incident_link(status_url: str | None, reference: str) -> str | None:
    """`FIREBREAK_STATUS_URL` is the address of `/status`; an incident's page is below it."""
    if not status_url:
        return None
    return f"{status_url.rstrip('/')}/incidents/{reference}"
