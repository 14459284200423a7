"""Retention: merchants idle longer than SANDBOX_RETENTION_DAYS are removed with
everything that is theirs, by the worker in bounded batches (`removal.py`, worker/
retention.py); when a merchant was last active is `activity.py`; the dry run and the
`keep` mark are the admin routes (`controllers.py`). See docs/teams-and-retention.md."""
