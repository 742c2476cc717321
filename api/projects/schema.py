"""Projects: named, shareable lists of prospects. The root types' parts, combined."""

from __future__ import annotations

from api.projects.mutations import ProjectMutation
from api.projects.queries import ProjectQuery

__all__ = ["ProjectMutation", "ProjectQuery"]
