"""Provider adapters: the only code that talks to Gmail, Graph and SMTP servers. Each raises
ProviderFault (classified) on failure and never logs or returns a secret."""
