"""GraphQL types of SLAs: policies and an application's SLA status."""

from __future__ import annotations

import enum

import strawberry

from api.pipeline.types import StageKind
from domain.slas import rules


@strawberry.enum(description="How urgent an application is: green (on time), yellow (due "
                             "soon), red (late).")
class SlaColor(enum.Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@strawberry.enum(description="The next action an application needs.")
class SlaAction(enum.Enum):
    NEEDS_DECISION = "needs_decision"
    AWAITING_FEEDBACK = strawberry.enum_value(
        "awaiting_feedback", description="Scorecards are awaited at the current stage.")
    NEEDS_SCHEDULING = "needs_scheduling"
    NEEDS_ATTENTION = "needs_attention"


@strawberry.enum(description="Who owns the next action: the application's recruiter (else the "
                             "job's) or the job's hiring manager.")
class SlaOwnerRole(enum.Enum):
    RECRUITER = "recruiter"
    HIRING_MANAGER = "hiring_manager"


@strawberry.enum(description="Where an effective policy comes from.")
class SlaPolicySource(enum.Enum):
    DEFAULT = strawberry.enum_value("default", description="Built in: the tenant set nothing.")
    TENANT = "tenant"
    JOB = strawberry.enum_value("job", description="This job's override.")


@strawberry.type(description="An SLA for a stage kind: yellow after yellowHours in the stage, "
                             "red after redHours (wall-clock hours; paused while the job is on "
                             "hold).")
class SlaPolicy:
    stage_kind: StageKind
    yellow_hours: int
    red_hours: int
    action: SlaAction
    owner_role: SlaOwnerRole
    source: SlaPolicySource

    @staticmethod
    def of(policy: rules.Policy) -> SlaPolicy:
        return SlaPolicy(stage_kind=StageKind(policy.stage_kind),
                         yellow_hours=policy.yellow_hours, red_hours=policy.red_hours,
                         action=SlaAction(policy.action), owner_role=SlaOwnerRole(policy.owner_role),
                         source=SlaPolicySource(policy.source))
