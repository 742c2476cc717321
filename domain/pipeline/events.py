"""Events of the talent pipeline, published in the transaction of the change. Each payload has
an "activity" section, so the prospect's feed shows it (domain.prospects.service.record_activity).
"""

JOB_CREATED = "JobCreated"
JOB_UPDATED = "JobUpdated"
JOB_STATUS_CHANGED = "JobStatusChanged"
APPLICATION_CREATED = "ApplicationCreated"
APPLICATION_MOVED = "ApplicationMoved"
APPLICATION_CLOSED = "ApplicationClosed"
APPLICATION_REOPENED = "ApplicationReopened"
SCORECARDS_REQUESTED = "ScorecardsRequested"
SCORECARD_SUBMITTED = "ScorecardSubmitted"
