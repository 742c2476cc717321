"""Projects: named, shareable lists of prospects."""

from __future__ import annotations

import strawberry


@strawberry.type
class ProjectQuery:
    pass


@strawberry.type
class ProjectMutation:
    pass
