"""Events of the talent CRM. Any event whose payload has an "activity" section
({"kind", "prospectIds", "occurredAt"?, ...}) becomes one activity per prospect: that is how
later capabilities (sequences, reviews, pipeline) add to the feed — they only publish."""

PROSPECT_CREATED = "ProspectCreated"
PROSPECT_UPDATED = "ProspectUpdated"
PROSPECT_ARCHIVED = "ProspectArchived"
PROSPECTS_MERGED = "ProspectsMerged"
NOTE_ADDED = "NoteAdded"
CALL_LOGGED = "CallLogged"
OWNER_CHANGED = "ProspectOwnerChanged"
PROSPECTS_ADDED_TO_PROJECT = "ProspectsAddedToProject"
# Tags are not in the activity feed (no activity kind for them): no activity section.
PROSPECTS_TAGGED = "ProspectsTagged"
# One per committed import batch: the batch writes its "created" activities itself, keyed by
# this event, so the dispatcher has nothing left to do per prospect.
PROSPECTS_IMPORTED = "ProspectsImported"
