"""Errors a user can act on; their message is shown to them as it is."""

# One answer for "no such incident" and "a private incident you are not in": a
# different reply would tell an outsider that a private incident exists.
UNKNOWN_INCIDENT = "That incident does not exist, or only the members of its channel can see it."


class IncidentError(Exception):
    """Something the user asked for cannot be done; `str(error)` says why and what to do."""


class NotAllowed(IncidentError):
    pass


class NotFound(IncidentError):
    pass


class InvalidInput(IncidentError):
    pass
