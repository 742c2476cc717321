"""Expected failures of the talent CRM."""

from domain.core.errors import DomainError


class EngagementBlocked(DomainError):
    """Someone else owns the relationship and the tenant blocks contacting their prospects."""

    code = "ENGAGEMENT_BLOCKED"
