"""Expected failures of SLA policies."""

from domain.core.errors import DomainError


class InvalidThresholds(DomainError):
    """Yellow and red must be positive whole hours, yellow before red."""

    code = "OUT_OF_RANGE"
