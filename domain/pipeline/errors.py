"""Expected failures of the talent pipeline; each carries a stable code and the field at fault."""

from domain.core.errors import DomainError


class StageOfAnotherJob(DomainError):
    """A stage id that exists but belongs to another job than the application's."""

    code = "STAGE_OF_ANOTHER_JOB"


class StageNotEmpty(DomainError):
    """A stage still holding active applications cannot be removed."""

    code = "STAGE_NOT_EMPTY"


class NotActive(DomainError):
    """The application is closed (or the job is closed) for this action."""

    code = "NOT_ACTIVE"


class ConfirmationRequired(DomainError):
    """The action needs an explicit flag (e.g. reopening a hired application)."""

    code = "CONFIRMATION_REQUIRED"


class Conflict(DomainError):
    """Someone changed the application since the caller read it (expectedVersion)."""

    code = "CONFLICT"
