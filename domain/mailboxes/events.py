"""Events of mailboxes (past tense). Payloads carry ids and addresses, never secrets."""

MAILBOX_CONNECTED = "MailboxConnected"
MAILBOX_DISCONNECTED = "MailboxDisconnected"
MAILBOX_NEEDS_RECONNECT = "MailboxNeedsReconnect"
MAILBOX_GRANT_CREATED = "MailboxGrantCreated"
MAILBOX_GRANT_REVOKED = "MailboxGrantRevoked"
MESSAGE_SENT = "MessageSent"
