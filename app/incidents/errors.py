"""Errors a user can act on; their message is shown to them as it is."""


class IncidentError(Exception):
    """Something the user asked for cannot be done; `str(error)` says why and what to do."""


class NotAllowed(IncidentError):
    pass


class NotFound(IncidentError):
    pass


class InvalidInput(IncidentError):
    pass
