"""Events as the domains write them: `outbox` writes each event in the same transaction
as the change it describes; `wakeups` tells the worker's relay and delivery jobs there is
work. It imports no domain: the domains import it, and `sandbox/webhooks` fans the events
out to endpoints. The one thing it shares with `webhooks` is the names of the two jobs it
wakes (`wakeups.RELAY_JOB`, `wakeups.DELIVER_JOB`), which the worker registers."""
