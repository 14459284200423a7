"""Events as the domains write them: `outbox` writes each event in the same transaction
as the change it describes; `wakeups` tells the worker's relay and delivery jobs there is
work. It knows no domain; `sandbox/webhooks` fans the events out to endpoints."""
