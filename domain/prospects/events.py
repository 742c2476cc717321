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
