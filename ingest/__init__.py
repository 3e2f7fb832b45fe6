"""Sources → normalised, redacted messages, and the scheduler that runs them.

No scoring and no UI here: a source only fetches; `ingest.pipeline` stores what it fetched."""
