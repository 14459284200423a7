"""What every `sandbox bench` phase stands on: the stack of embedded servers and merchants
(`stack`), child processes (`procs`), the load generators and the wrk and pgbench scripts
they run (`load`, `*.lua`, `payout.pgbench.sql`), where the CPU went (`cpu`) and the
figures as a report (`report`). It imports nothing else of the bench."""
