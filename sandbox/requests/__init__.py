"""The request log: every authenticated API request of a merchant, as the gate saw it
(its idempotency outcome, the fault it got, the objects it touched, both bodies), listed,
exported as HAR 1.2, and read for the verdict on the client's retries."""
