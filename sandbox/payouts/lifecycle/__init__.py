"""A payout's life: made (`service`), checked before it exists (`verification`), and
moved. `planner` decides (no database, Redis or clock), `writer` writes what it decided in
the caller's transaction, `schedule` says when the next step is due; whoever moves a
payout (`actions` for people, `engine` for the worker, the rail and the clock,
`due_claims` for many due payouts at once) locks the row, asks the planner and hands the
plan to the writer. It may import `store` and `model`, never `api`."""
