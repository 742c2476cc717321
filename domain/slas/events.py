"""Events of SLAs: policy changes (for audit and webhooks) and breaches (for delivery)."""

SLA_POLICY_SET = "SlaPolicySet"
JOB_SLA_OVERRIDE_SET = "JobSlaOverrideSet"
JOB_SLA_OVERRIDE_REMOVED = "JobSlaOverrideRemoved"
SLA_BREACHED = "SlaBreached"
