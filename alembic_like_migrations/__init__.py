"""Ordered, reversible schema migrations: modules named mNNNN_<what>.py with up() and down().

Each returns a list of SQL statements for the dialect it is given ("sqlite" or "postgres");
the runner in domain.core.migrations applies them in one transaction per migration.
"""
