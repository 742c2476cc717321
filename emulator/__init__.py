"""A loopback stand-in for the mail providers Talentgraph talks to.

One HTTP server speaks the subset of Google's and Microsoft's OAuth and mail APIs the product
uses (each real host is a path prefix: `/google/oauth2` = oauth2.googleapis.com, ...), plus an
SMTP server (aiosmtpd) and a JSON control API under `/_emulator/` for tests. Product code never
imports this package; it only reaches it over the network.
"""
